"""Metric queries over the warehouse, each parameterised by as_of."""

from metrics.fx import FxError, FxRatesError, MissingRateError, convert_total, load_rates_csv
from metrics.money import exponent, format_money, minor_to_major
from metrics.mrr import mrr_currency_daily, mrr_customer_daily, mrr_subscription_daily
from metrics.payments import payment_success_daily, payment_success_rate
from metrics.summary import Summary, summarise

__all__ = [
    "FxError",
    "FxRatesError",
    "MissingRateError",
    "Summary",
    "convert_total",
    "exponent",
    "format_money",
    "load_rates_csv",
    "minor_to_major",
    "mrr_currency_daily",
    "mrr_customer_daily",
    "mrr_subscription_daily",
    "payment_success_daily",
    "payment_success_rate",
    "summarise",
]

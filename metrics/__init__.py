"""Metric queries over the warehouse, each parameterised by as_of."""

from metrics.fx import FxError, FxRatesError, MissingRateError, convert_total, load_rates_csv
from metrics.money import exponent, format_money, minor_to_major
from metrics.payments import payment_success_daily, payment_success_rate
from metrics.revenue import active_subscriptions, mrr_by_currency, mrr_items

__all__ = [
    "FxError",
    "FxRatesError",
    "MissingRateError",
    "active_subscriptions",
    "convert_total",
    "exponent",
    "format_money",
    "load_rates_csv",
    "minor_to_major",
    "mrr_by_currency",
    "mrr_items",
    "payment_success_daily",
    "payment_success_rate",
]

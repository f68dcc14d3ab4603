"""The `paylens report` contract: state at the end of `as_of` and flows over (since, as_of].

Every key is documented in docs/METRICS.md ("The report contract"). The figures come from
`metrics.summary.summarise`; this module only maps the settings to its arguments and formats
the `Summary`. Money is in major units of the reporting currency, unrounded (`mrr_by_currency`
and `cohort_retention`: each currency's own major units); rates are fractions (0..1 except
Stripe's trial conversion) and null where they have no denominator. When an FX rate is missing,
the converted amounts are null and `warnings` says which rate; `warnings` also lists what the
warehouse is missing (`metrics.degraded`: quarantined objects, unavailable resources, items
with an unknown price), with counts and what each affects. The Overview page reads the same
`Summary`, so the two can never disagree.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from app.settings import Settings
from metrics.churn import ChurnSettings
from metrics.coverage import beyond_data
from metrics.fx import FxError, load_rates_csv
from metrics.money import format_money
from metrics.summary import FX_NO_RATES, Rates, Summary, summarise
from sync import last_heard

DEFAULT_PERIOD_DAYS = 30
SUCCESS_RATE_DAYS = 7  # the Overview page's window
MOVEMENTS = ["start_mrr", "new", "reactivation", "expansion", "contraction", "churn", "fx"]
MOVEMENTS += ["end_mrr"]


def churn_settings(settings: Settings) -> ChurnSettings:
    """The MRR and churn definitions the user configured (SPEC §5; defaults are Stripe's)."""
    return ChurnSettings(
        subtract_repeating=settings.mrr_subtract_repeating,
        subtract_once=settings.mrr_subtract_once,
        churn_at_period_end=settings.mrr_churn_at_period_end,
        involuntary_past_due_days=settings.involuntary_past_due_days,
    )


def fx_rates(settings: Settings) -> Rates:
    """The user's rates table, the error that stopped loading it, or None without a file."""
    path = settings.fx_rates_path
    if path is None:
        return None
    try:
        return load_rates_csv(path, settings.reporting_currency)
    except FxError as exc:
        return exc


def summary_for(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: date,
    since: date | None = None,
) -> Summary:
    """The summary for the end of `as_of`; flows over (since, as_of], by default 30 days."""
    since = as_of - timedelta(days=DEFAULT_PERIOD_DAYS) if since is None else since
    if since >= as_of:
        raise ValueError(f"--since ({since}) must be before --as-of ({as_of})")
    return summarise(
        con,
        as_of=as_of,
        since=since,
        definition=churn_settings(settings),
        reporting_currency=settings.reporting_currency,
        rates=fx_rates(settings),
    )


def build_report(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    as_of: date,
    since: date | None = None,
) -> dict[str, Any]:
    """The report for the end of `as_of`; flows over (since, as_of], by default 30 days."""
    data = report_dict(summary_for(con, settings, as_of, since), settings)
    heard = last_heard(con)
    beyond = beyond_data(as_of, None if heard is None else heard.date())
    data["warnings"] += [] if beyond is None else [beyond]
    return data


def report_dict(summary: Summary, settings: Settings) -> dict[str, Any]:
    """The contract's keys, read from the summary."""
    revenue, payments = summary.revenue_churn, summary.payments
    dunning, disputes = payments.dunning, payments.disputes
    return {
        "as_of": summary.as_of.isoformat(),
        "since": summary.since.isoformat(),
        "reporting_currency": summary.reporting_currency,
        "mrr": summary.mrr.converted,
        "arr": summary.arr.converted,
        "mrr_by_currency": dict(summary.mrr.by_currency),
        "active_customers": summary.active_customers,
        "active_subscriptions": summary.active_subscriptions,
        "arpu": summary.arpu,
        "ltv": summary.ltv,
        "movements": {kind: getattr(summary.movements, kind) for kind in MOVEMENTS},
        "customer_churn_rate": summary.customer_churn.rate,
        "stripe_subscriber_churn_rate": summary.subscriber_churn.rate,
        "subscriber_churn_rate_stripe": summary.subscriber_churn.stripe_rate,
        "gross_mrr_churn_rate": None if revenue is None else revenue.gross_mrr_churn_rate,
        "net_mrr_churn_rate": None if revenue is None else revenue.net_mrr_churn_rate,
        "nrr": None if revenue is None else revenue.nrr,
        "grr": None if revenue is None else revenue.grr,
        "involuntary_churn_rate": summary.involuntary.involuntary_rate,
        "involuntary_share": summary.involuntary.involuntary_share,
        "trial_conversion_rate": summary.trials.rate,
        "trial_conversion_rate_stripe": summary.trials.stripe_rate,
        "payment_success_rate": payments.success_rate,
        "payment_success_rate_dedup": payments.success_rate_dedup,
        "failure_rate": None if dunning is None else dunning.failure_rate,
        "recovery_rate": None if dunning is None else dunning.recovery_rate,
        "disputes": {
            "open": disputes.open,
            "amount_at_risk": payments.disputes_at_risk.converted,
            "due_within_72h": disputes.due_within_72h,
            "new": disputes.new,
            "dispute_rate": disputes.dispute_rate,
            "win_rate": disputes.win_rate,
        },
        "webhook_delivery_rate": payments.webhooks.delivery_rate,
        "pending_events": payments.webhooks.pending_events,
        "refunds": {"amount": payments.refunds.converted, "rate": payments.refund_rate},
        "cohort_retention": [
            {**vars(row), "cohort": row.cohort.isoformat()} for row in summary.cohorts
        ],
        "warnings": [
            *warning_texts(summary, settings),
            *(degradation.text for degradation in summary.degradations),
        ],
    }


def warning_texts(summary: Summary, settings: Settings) -> list[str]:
    """The summary's warnings as sentences, with where to put a missing rates file."""
    hint = (
        f"Put a CSV with columns date,currency,rate at {settings.data_dir / 'fx_rates.csv'} "
        "or set PAYLENS_FX_RATES_FILE"
    )
    return [
        f"{warning.message}. {hint}" if warning.code == FX_NO_RATES else warning.message
        for warning in summary.warnings
    ]


def format_report(data: dict[str, Any]) -> str:
    """The report as a few aligned lines for a terminal."""
    currency = data["reporting_currency"]
    moves, disputes, refunds = data["movements"], data["disputes"], data["refunds"]
    lines = [
        f"paylens report as of {data['as_of']} (end of day, UTC); flows since {data['since']}",
        f"  MRR            {_money(data['mrr'], currency)}",
    ]
    lines += [
        f"    {cur.upper():<12} {format_money(value, cur)}"
        for cur, value in sorted(data["mrr_by_currency"].items())
    ]
    lines += [
        f"  ARR            {_money(data['arr'], currency)}",
        f"  Customers      {data['active_customers']:,} active, "
        f"ARPU {_money(data['arpu'], currency)}, LTV {_money(data['ltv'], currency)}",
        f"  Subscriptions  {data['active_subscriptions']:,} active",
        f"  Movements      {_money(moves['start_mrr'], currency)} → "
        f"{_money(moves['end_mrr'], currency)}: "
        + ", ".join(f"{kind} {_money(moves[kind], currency)}" for kind in MOVEMENTS[1:-1]),
        f"  Churn          customers {_rate(data['customer_churn_rate'])} "
        f"(30-day subscribers {_rate(data['stripe_subscriber_churn_rate'])}, "
        f"Stripe's formula {_rate(data['subscriber_churn_rate_stripe'])}), "
        f"gross MRR {_rate(data['gross_mrr_churn_rate'])}, "
        f"net MRR {_rate(data['net_mrr_churn_rate'])}",
        f"  Retention      NRR {_rate(data['nrr'])}, GRR {_rate(data['grr'])}, "
        f"trial conversion {_rate(data['trial_conversion_rate'])} "
        f"(Stripe's formula {_rate(data['trial_conversion_rate_stripe'])})",
        f"  Involuntary    {_rate(data['involuntary_churn_rate'])} of subscriptions, "
        f"{_rate(data['involuntary_share'])} of churn",
        f"  Payments       success {_rate(data['payment_success_rate'])} "
        f"(per PaymentIntent {_rate(data['payment_success_rate_dedup'])}), "
        f"failure {_rate(data['failure_rate'])}, recovered {_rate(data['recovery_rate'])}",
        f"  Disputes       {disputes['open']} open ({_money(disputes['amount_at_risk'], currency)} "
        f"at risk, {disputes['due_within_72h']} due within 72 h), {disputes['new']} new, "
        f"rate {_rate(disputes['dispute_rate'])}, won {_rate(disputes['win_rate'])}",
        f"  Refunds        {_money(refunds['amount'], currency)} ({_rate(refunds['rate'])})",
        f"  Webhooks       delivered {_rate(data['webhook_delivery_rate'])}, "
        f"{data['pending_events']:,} events pending",
    ]
    lines += [f"  warning: {warning}" for warning in data["warnings"]]
    return "\n".join(lines)


def _money(value: float | None, currency: str) -> str:
    return "n/a" if value is None else format_money(value, currency)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"

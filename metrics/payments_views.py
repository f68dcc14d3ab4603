"""The Payments page's figures: success over time against its baseline, declines and the volume
they lost, dunning and refunds, for every currency or one, and for one card segment.

Attempts are `metrics.payments`' (`sql/payment_attempts.sql`, raw or per PaymentIntent), so the
page and `paylens report` count the same charges; `sql/payments_view_attempts.sql` adds the
card filters and the decline code the alert engine names, so an alert's link opens the page on
what the alert counted. The baseline is `metrics.signals`': the same days of the previous 4
weeks, pooled, judged with the Wilson interval. Dunning and refunds are `metrics.dunning`'s and
`metrics.refunds`' definitions; invoices and refunds carry no card, so only the window and the
currency apply to them. Amounts are minor units per currency and, where a figure is shown in
one currency, converted to it (`metrics.fx`) at `as_of`: `None`/NaN when a rate is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import duckdb
import pandas as pd

from metrics._sql import Param, as_days, run_layers, run_sql
from metrics._volume import volume_ratio
from metrics.dunning import subscription_payment_recovery
from metrics.fx import FxError, convert_total
from metrics.money import THREE_DECIMAL, ZERO_DECIMAL, minor_to_major
from metrics.refunds import refunds_by_currency
from metrics.signals_payments import wilson_interval

Grain = Literal["day", "week"]
BASELINE_WEEKS = 4  # as the payment_success alert rule's default
CONFIDENCE = 0.95
CARD_KEYS = ("brand", "country", "funding", "decline")
# What declines are broken down by (sql/payments_view_declines.sql), in the page's order.
DIMENSIONS: tuple[str, ...] = ("decline", "failure_code", "outcome_type", "outcome_reason")
DIMENSIONS += ("network_decline_code", "card_brand", "card_country", "card_funding", "amount_band")
ATTEMPTS = ["payment_attempts.sql", "payments_view_attempts.sql"]
DUNNING = ["subscription_payment_invoices.sql", "payments_view_dunning.sql"]
# success_series' rates: (rate, Wilson low, Wilson high, succeeded, attempted) columns
_RATES = (
    ("success_rate", "low", "high", "succeeded", "attempted"),
    ("baseline_rate", "baseline_low", "baseline_high", "baseline_succeeded", "baseline_attempted"),
)
_DECLINE_COLUMNS = ["dimension", "value", "currency", "attempted", "succeeded", "success_rate"]
_DECLINE_COLUMNS += ["declined", "lost_minor", "lost", "failure_share"]


@dataclass(frozen=True)
class Volume:
    """`count` items worth `minor` (per currency) and `converted` into `currency` (major units;
    None when a rate is missing, `problem` then says which)."""

    count: int
    minor: Mapping[str, int]
    converted: float | None
    currency: str
    problem: str | None = None


@dataclass(frozen=True)
class PaymentFigures:
    """Success over the days (since, as_of] inside the filters. Rates 0..1, None without
    attempts. `low`/`high`: the Wilson interval of the raw rate. The baseline (`baseline_kind`):
    for windows of up to 7 days the same days of the previous weeks ("weeks", the alert's); for
    longer ones, whose earlier weeks would overlap them, the period of equal length just before
    ("previous", as the Overview judges a range); `below_baseline`: the upper bound is below it
    (the alert's test). `declined`:
    failed charges with the decline filter's code, their amount; `unrecovered`: PaymentIntents
    that never succeeded (with that code), their amount."""

    attempted: int
    succeeded: int
    failed: int
    success_rate: float | None
    low: float | None
    high: float | None
    attempted_dedup: int
    succeeded_dedup: int
    success_rate_dedup: float | None
    baseline_attempted: int | None
    baseline_rate: float | None
    baseline_change: float | None  # success_rate − baseline_rate
    below_baseline: bool | None
    declined: Volume
    unrecovered: Volume
    baseline_kind: Literal["weeks", "previous"] = "weeks"


@dataclass(frozen=True)
class DunningFigures:
    """Subscription invoices of the window that failed first (`failed`), by where they stand at
    the end of `as_of` (`recovered`, `lost`, `in_retry`); the failure and recovery rates
    (`metrics.dunning`'s, volume-based); `at_risk`: the invoices in retry at the last sync."""

    failed: Volume
    recovered: Volume
    lost: Volume
    in_retry: Volume
    at_risk: Volume
    failure_rate: float | None
    recovery_rate: float | None


@dataclass(frozen=True)
class RefundFigures:
    """Refunds of the window, the succeeded charge volume beside them and their ratio."""

    refunded: Volume
    charged: Volume
    rate: float | None


def payment_view_currencies(con: duckdb.DuckDBPyConnection, as_of: date = date.max) -> list[str]:
    """The currencies of the account's payment attempts by the end of `as_of`, sorted."""
    frame = run_sql(con, "payments_view_currencies.sql", {"as_of": as_of})
    return [str(code) for code in frame["currency"]]


def payment_card_options(
    con: duckdb.DuckDBPyConnection, as_of: date = date.max
) -> dict[str, list[str]]:
    """{brand/country/funding/decline: the values on the account's attempts by the end of
    `as_of` (default: any day), sorted}."""
    frame = run_sql(con, "payments_view_options.sql", {"as_of": as_of})
    return {key: [str(v) for v in frame.loc[frame["filter"] == key, "value"]] for key in CARD_KEYS}


def success_series(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    grain: Grain = "day",
    dedup: bool = False,
    currency: str | None = None,
    card: Mapping[str, str] | None = None,
    weeks: int = BASELINE_WEEKS,
) -> pd.DataFrame:
    """Success per day or ISO week over (`since`, `as_of`] with its baseline.

    Columns: `period` (the day, or the week's Monday), `first_day`, `last_day`, `days` (of the
    period inside the window), `attempted`, `succeeded`, `failed`, `declined`, `success_rate`
    and its Wilson interval `low`, `high`; `baseline_attempted`, `baseline_succeeded`,
    `baseline_rate`, `baseline_low`, `baseline_high` (the same days 1 … `weeks` weeks earlier,
    pooled); `below_baseline` (`high` below `baseline_rate`). Rates NaN without attempts.
    """
    _check_window(since, as_of)
    first = since + timedelta(days=1)
    params = _params(first - timedelta(weeks=weeks), as_of, dedup, currency, card)
    params |= {"first": first, "grain": grain, "weeks": weeks}
    frame = run_layers(con, [*ATTEMPTS, "payments_view_series.sql"], params)
    frame = frame.sort_values("period", ignore_index=True)
    for column in ("period", "first_day", "last_day"):
        frame[column] = as_days(frame[column])
    counts = ["days", "attempted", "succeeded", "failed", "declined"]
    frame = frame.astype(
        dict.fromkeys([*counts, "baseline_attempted", "baseline_succeeded"], "int64")
    )
    for rate, low, high, ok, n in _RATES:
        bounds = [_rate(int(a), int(b)) for a, b in zip(frame[ok], frame[n], strict=True)]
        frame[rate], frame[low], frame[high] = ([b[i] for b in bounds] for i in range(3))
    frame["below_baseline"] = frame["high"] < frame["baseline_rate"]
    return frame.astype({column: "float64" for column in [*_RATES[0][:3], *_RATES[1][:3]]})


def payment_figures(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    reporting_currency: str,
    currency: str | None = None,
    card: Mapping[str, str] | None = None,
    rates: pd.DataFrame | None = None,
    weeks: int = BASELINE_WEEKS,
) -> PaymentFigures:
    """The window's `PaymentFigures`, amounts in `currency` or else the reporting currency."""
    _check_window(since, as_of)
    raw = _totals(con, since, as_of, False, currency, card)
    dedup = _totals(con, since, as_of, True, currency, card)
    target = currency or reporting_currency
    attempted, succeeded = int(raw["attempted"].sum()), int(raw["succeeded"].sum())
    rate, low, high = _rate(succeeded, attempted)
    kind: Literal["weeks", "previous"] = "weeks"
    if (as_of - since).days <= 7:  # longer: the earlier weeks' days would overlap the window
        series = success_series(con, since, as_of, currency=currency, card=card, weeks=weeks)
        base_n = int(series["baseline_attempted"].sum())
        base_ok = int(series["baseline_succeeded"].sum())
    else:
        kind = "previous"
        before = _totals(con, since - (as_of - since), since, False, currency, card)
        base_n, base_ok = int(before["attempted"].sum()), int(before["succeeded"].sum())
    base_rate = base_ok / base_n if base_n else None
    below = None if base_rate is None or not attempted else high < base_rate
    dedup_n, dedup_ok = int(dedup["attempted"].sum()), int(dedup["succeeded"].sum())
    return PaymentFigures(
        attempted=attempted,
        succeeded=succeeded,
        failed=int(raw["failed"].sum()),
        success_rate=rate if attempted else None,
        low=low if attempted else None,
        high=high if attempted else None,
        attempted_dedup=dedup_n,
        succeeded_dedup=dedup_ok,
        success_rate_dedup=dedup_ok / dedup_n if dedup_n else None,
        baseline_attempted=base_n,
        baseline_rate=base_rate,
        baseline_change=None if base_rate is None or not attempted else rate - base_rate,
        below_baseline=below,
        declined=_volume(raw, "declined", "declined_minor", target, rates, as_of),
        unrecovered=_volume(dedup, "declined", "declined_minor", target, rates, as_of),
        baseline_kind=kind,
    )


def decline_breakdown(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    reporting_currency: str,
    currency: str | None = None,
    card: Mapping[str, str] | None = None,
    rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The window's declines (raw charges) per value of each of DIMENSIONS, values with a
    decline only, by dimension and then most volume lost.

    Columns: `dimension`, `value` (None: the attempts have none), `currency` (only for
    `amount_band`, whose bands are in each currency's major unit), `attempted`, `succeeded`,
    `success_rate` (of all the value's attempts in the filters), `declined`, `failure_share`
    (of the dimension's declines), `lost_minor` ({currency: minor units declined}) and `lost`
    (major units of `currency` or the reporting currency; NaN when a rate is missing).
    """
    _check_window(since, as_of)
    params = _params(since + timedelta(days=1), as_of, False, currency, card)
    frame = run_layers(con, [*ATTEMPTS, "payments_view_declines.sql"], params)
    # amount bands stay per currency (a band is in its currency's major unit); others add up
    frame["band"] = frame["currency"].where(frame["dimension"] == "amount_band", "")
    frame["value"] = frame["value"].fillna("")
    target = currency or reporting_currency
    rows = []
    keys = ["dimension", "value", "band"]
    for (dimension, value, band), group in frame.groupby(keys, sort=False):
        lost_minor = {
            str(code): int(amount)
            for code, amount in zip(group["currency"], group["declined_minor"], strict=True)
            if amount
        }
        attempted, succeeded = int(group["attempted"].sum()), int(group["succeeded"].sum())
        rows.append(
            {
                "dimension": dimension,
                "value": value or None,
                "currency": band or None,
                "attempted": attempted,
                "succeeded": succeeded,
                "success_rate": succeeded / attempted,
                "declined": int(group["declined"].sum()),
                "lost_minor": lost_minor,
                "lost": _convert(lost_minor, target, rates, as_of)[0],
            }
        )
    table = pd.DataFrame(rows, columns=[*_DECLINE_COLUMNS[:-2], "lost"])
    table = table[table["declined"] > 0].copy()
    per_dimension = table.groupby("dimension")["declined"].transform("sum")
    table["failure_share"] = table["declined"] / per_dimension
    table["order"] = table["dimension"].map(DIMENSIONS.index)
    table = table.sort_values(
        ["order", "lost", "declined", "value"],
        ascending=[True, False, False, True],
        na_position="last",
    )
    table = table[_DECLINE_COLUMNS].reset_index(drop=True).astype({"lost": "float64"})
    table["currency"] = table["currency"].astype("object").where(table["currency"].notna(), None)
    return table


def declined_attempts(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    currency: str | None = None,
    card: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The window's declined charges inside the filters, newest first: `created`, `charge`,
    `attempt_key`, `customer`, `customer_name` (raw account text), `amount` (minor units),
    `currency`, card fields, `decline`, `failure_code`, `outcome_type`, `outcome_reason`,
    `network_decline_code` and `amount_band`."""
    _check_window(since, as_of)
    params = _params(since + timedelta(days=1), as_of, False, currency, card)
    frame = run_layers(con, [*ATTEMPTS, "payments_view_declined.sql"], params)
    return frame.astype("object").where(frame.notna(), None).astype({"amount": "int64"})


def failed_subscription_payments(
    con: duckdb.DuckDBPyConnection, since: date, as_of: date, currency: str | None = None
) -> pd.DataFrame:
    """Subscription invoices first attempted in (`since`, `as_of`] whose first attempt failed
    (`metrics.dunning`'s), each with `outcome` at the end of `as_of`: `recovered`, `lost` or
    `in_retry` (`sql/payments_view_dunning.sql`), `next_payment_attempt` and `customer_name`."""
    _check_window(since, as_of)
    params: dict[str, Param] = {"since": since, "as_of": as_of, "currency": currency or ""}
    frame = run_layers(con, DUNNING, params)
    return frame.astype({"amount_minor": "int64", "attempt_count": "int64"})


def retrying_invoices(
    con: duckdb.DuckDBPyConnection, as_of: date, currency: str | None = None
) -> pd.DataFrame:
    """Subscription invoices created by the end of `as_of` and in retry at the last sync, next
    attempt first (`sql/payments_view_retrying.sql`): `amount_minor` is what is still due."""
    frame = run_sql(con, "payments_view_retrying.sql", {"as_of": as_of, "currency": currency or ""})
    return frame.astype({"amount_minor": "int64", "attempt_count": "int64"})


def dunning_figures(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    reporting_currency: str,
    currency: str | None = None,
    rates: pd.DataFrame | None = None,
) -> DunningFigures:
    """The window's `DunningFigures`, amounts in `currency` or else the reporting currency."""
    rows = failed_subscription_payments(con, since, as_of, currency)
    retrying = retrying_invoices(con, as_of, currency)
    target = currency or reporting_currency

    def volume(frame: pd.DataFrame) -> Volume:
        sums = frame.groupby("currency")["amount_minor"].agg(["size", "sum"])
        sums = sums.reset_index().rename(columns={"size": "n", "sum": "minor"})
        return _volume(sums, "n", "minor", target, rates, as_of)

    recovery = subscription_payment_recovery(con, since, as_of)
    if currency is not None:
        recovery = recovery[recovery["currency"] == currency]
    attempted = _volume(recovery, "invoices", "attempted_minor", target, rates, as_of)
    failed = _volume(recovery, "failed", "failed_minor", target, rates, as_of)
    recovered = _volume(recovery, "recovered", "recovered_minor", target, rates, as_of)
    return DunningFigures(
        failed=volume(rows),
        recovered=volume(rows[rows["outcome"] == "recovered"]),
        lost=volume(rows[rows["outcome"] == "lost"]),
        in_retry=volume(rows[rows["outcome"] == "in_retry"]),
        at_risk=volume(retrying),
        failure_rate=_ratio(failed, attempted, target, rates, as_of),
        recovery_rate=_ratio(recovered, failed, target, rates, as_of),
    )


def refund_figures(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    reporting_currency: str,
    currency: str | None = None,
    rates: pd.DataFrame | None = None,
) -> RefundFigures:
    """Refunds over (`since`, `as_of`] (`metrics.refunds`' totals and rate, as the report's)
    of one currency or all, amounts in `currency` or else the reporting currency."""
    target = currency or reporting_currency
    frame = refunds_by_currency(con, since, as_of)
    if currency is not None:
        frame = frame[frame["currency"] == currency]
    refunded = _volume(frame, "refunds", "refunded_minor", target, rates, as_of)
    charged = _volume(frame, "succeeded_charges", "charged_minor", target, rates, as_of)
    return RefundFigures(refunded, charged, _ratio(refunded, charged, target, rates, as_of))


def refund_reasons(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    *,
    reporting_currency: str,
    currency: str | None = None,
    rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Refunds over (`since`, `as_of`] per reason and currency, most refunded first: `reason`
    (None: none given), `currency`, `refunds`, `refunded_minor` and `refunded` (major units of
    `currency` or the reporting currency; NaN without a rate)."""
    _check_window(since, as_of)
    params: dict[str, Param] = {"since": since, "as_of": as_of, "currency": currency or ""}
    frame = run_sql(con, "payments_view_refund_reasons.sql", params)
    frame["reason"] = frame["reason"].astype("object").where(frame["reason"].notna(), None)
    target = currency or reporting_currency
    frame["refunded"] = [
        _convert({str(c): int(v)}, target, rates, as_of)[0]
        for c, v in zip(frame["currency"], frame["refunded_minor"], strict=True)
    ]
    frame = frame.sort_values(["refunded", "refunds"], ascending=False, na_position="last")
    frame = frame.reset_index(drop=True)
    return frame.astype({"refunds": "int64", "refunded_minor": "int64", "refunded": "float64"})


def _params(
    start: date,
    as_of: date,
    dedup: bool,
    currency: str | None,
    card: Mapping[str, str] | None,
) -> dict[str, Param]:
    """The attempts layers' parameters: `payment_attempts`' and the page's filters."""
    unknown = sorted(set(card or {}) - set(CARD_KEYS))
    if unknown:
        raise ValueError(f"unknown card filter(s) {unknown}; choose from {list(CARD_KEYS)}")
    params: dict[str, Param] = {
        "start": start,
        "as_of": as_of,
        "dedup": dedup,
        "zero_decimal": ",".join(sorted(ZERO_DECIMAL)),
        "three_decimal": ",".join(sorted(THREE_DECIMAL)),
        "currency": currency or "",
    }
    return params | {key: (card or {}).get(key, "") for key in CARD_KEYS}


def _totals(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    dedup: bool,
    currency: str | None,
    card: Mapping[str, str] | None,
) -> pd.DataFrame:
    params = _params(since + timedelta(days=1), as_of, dedup, currency, card)
    return run_layers(con, [*ATTEMPTS, "payments_view_totals.sql"], params)


def _rate(succeeded: int, attempted: int) -> tuple[float, float, float]:
    """(rate, Wilson low, Wilson high); NaN without attempts."""
    if attempted == 0:
        return (math.nan, math.nan, math.nan)
    low, high = wilson_interval(succeeded, attempted, CONFIDENCE)
    return (succeeded / attempted, low, high)


def _convert(
    minor: Mapping[str, int], target: str, rates: pd.DataFrame | None, on: date
) -> tuple[float | None, str | None]:
    """(the amounts in `target`'s major units, None) or (None, why not)."""
    major = {code: minor_to_major(amount, code) for code, amount in minor.items() if amount}
    if set(major) <= {target}:  # one currency: no rate (and no rates table) involved
        return major.get(target, 0.0), None
    try:
        return convert_total(major, target, rates, on), None
    except FxError as exc:
        return None, str(exc)


def _volume(
    frame: pd.DataFrame,
    count: str,
    minor: str,
    target: str,
    rates: pd.DataFrame | None,
    on: date,
) -> Volume:
    """A Volume from per-currency rows: `count` items worth `minor` (minor units)."""
    amounts = {
        str(code): int(value)
        for code, value in zip(frame["currency"], frame[minor], strict=True)
        if value
    }
    converted, problem = _convert(amounts, target, rates, on)
    return Volume(int(frame[count].sum()), amounts, converted, target, problem)


def _ratio(
    top: Volume, bottom: Volume, target: str, rates: pd.DataFrame | None, on: date
) -> float | None:
    """`metrics._volume.volume_ratio` of two volumes; None when a rate it needs is missing."""
    try:
        return volume_ratio(top.minor, bottom.minor, on=on, rates=rates, reporting_currency=target)
    except FxError:
        return None


def _check_window(since: date, as_of: date) -> None:
    if since >= as_of:
        raise ValueError(f"since ({since}) must be before as_of ({as_of})")

"""Revenue churn and retention: gross and net MRR churn, NRR and GRR, cohorts by signup month.

Everything compares each customer's net MRR (per currency, `metrics.mrr.mrr_customer_daily`)
at the end of the day before a period with its value at the period's end, exactly as
`metrics.movements` does, so the movements behind a rate are the ones the movements table shows.
A rate mixing currencies values every amount at the period end's rate (constant currency), so
exchange-rate moves never show up as churn or expansion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics._sql import run_layers
from metrics.churn import customer_spells
from metrics.fx import convert_total
from metrics.money import minor_to_major
from metrics.movements import history_start
from metrics.mrr import (
    DEFAULT_SETTINGS,
    SUBSCRIPTION_LAYERS,
    MrrSettings,
    month_ends,
    mrr_customer_daily,
)

KINDS = ["new", "reactivation", "expansion", "contraction", "churn"]


@dataclass(frozen=True)
class MrrChurn:
    """One period's MRR flows in major units of the reporting currency, and the rates on them.

    `retained_mrr`: what the customers paying at the start still pay at the end, capped at their
    start value (GRR's numerator). Rates are None when the start MRR is 0.
    """

    start_mrr: float
    new: float
    reactivation: float
    expansion: float
    contraction: float
    churn: float
    retained_mrr: float
    gross_mrr_churn_rate: float | None
    net_mrr_churn_rate: float | None
    nrr: float | None
    grr: float | None


def mrr_churn(
    con: duckdb.DuckDBPyConnection,
    since: date,
    as_of: date,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> MrrChurn:
    """Gross and net MRR churn, NRR and GRR over (`since`, `as_of`].

    gross = (churn + contraction) ÷ start; net = (churn + contraction − expansion −
    reactivation) ÷ start; NRR = (start + expansion − contraction − churn) ÷ start and GRR =
    (start − contraction − churn) ÷ start, both over the customers paying at the start.
    """
    if since > as_of:
        raise ValueError(f"since ({since}) is after as_of ({as_of})")
    daily = mrr_customer_daily(con, since, as_of, settings)
    paid_before = _paid_before(con, since, settings)
    return _period(daily, since, as_of, paid_before, reporting_currency, rates)


def mrr_churn_monthly(
    con: duckdb.DuckDBPyConnection,
    start: date,
    as_of: date,
    reporting_currency: str,
    rates: pd.DataFrame | None = None,
    settings: MrrSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """`mrr_churn` for every calendar month from `start`'s to `as_of`'s (the last one ends at
    `as_of`): one row per month, `period_start`, `period_end` and MrrChurn's fields."""
    before = start - timedelta(days=1)
    daily = mrr_customer_daily(con, before, as_of, settings)
    spells = customer_spells(con, before, as_of, settings)
    rows = []
    for end in month_ends(start, as_of):
        paid_before = set(spells.loc[spells["first_day"] <= before, "customer"].astype(str))
        flows = _period(daily, before, end, paid_before, reporting_currency, rates)
        rows.append({"period_start": before + timedelta(days=1), "period_end": end, **vars(flows)})
        before = end
    return pd.DataFrame(rows)


def cohort_retention(
    con: duckdb.DuckDBPyConnection, as_of: date, settings: MrrSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """Retention by signup month (the month of a customer's first day with net MRR above 0).

    One row per (`cohort`, `currency`, `months_since`): `customers` (cohort size),
    `retained_customers` (still paying at the end of month `months_since`; the last month ends
    at `as_of`), `base_mrr_minor` (the cohort's MRR on each customer's first paid day),
    `mrr_minor` (its MRR at that month end), `customer_retention` and `revenue_retention`
    (fractions; revenue retention above 1 means expansion outgrew churn).
    """
    first = history_start(con) or as_of
    params = {"start": min(first, as_of), "as_of": as_of}
    params.update(vars(settings))
    frame = run_layers(con, [*SUBSCRIPTION_LAYERS, "cohort_retention.sql"], params)
    frame["cohort"] = [pd.Timestamp(value).date() for value in frame["cohort"]]
    frame["customer_retention"] = frame["retained_customers"] / frame["customers"]
    base = frame["base_mrr_minor"].where(frame["base_mrr_minor"] > 0)
    frame["revenue_retention"] = frame["mrr_minor"] / base
    return frame


def _paid_before(con: duckdb.DuckDBPyConnection, day: date, settings: MrrSettings) -> set[str]:
    """Customers with net MRR above 0 on some day up to `day`: a return is a reactivation."""
    spells = customer_spells(con, day, day, settings)
    return set(spells["customer"].astype(str))


def _period(
    daily: pd.DataFrame,
    before: date,
    end: date,
    paid_before: set[str],
    reporting: str,
    rates: pd.DataFrame | None,
) -> MrrChurn:
    """Classify each (customer, currency) by its values at the two boundaries, then convert."""
    paid = daily[daily["net_mrr_minor"] > 0]
    old = _values(paid, before)
    new = _values(paid, end)
    minor: dict[str, dict[str, float]] = {k: {} for k in [*KINDS, "start", "retained"]}
    for key in set(old) | set(new):
        customer, currency = key
        start_value, end_value = old.get(key, 0.0), new.get(key, 0.0)
        _add(minor["start"], currency, start_value)
        _add(minor["retained"], currency, min(start_value, end_value))
        if start_value == end_value:
            continue
        kind = _kind(start_value, end_value, customer in paid_before)
        _add(minor[kind], currency, abs(end_value - start_value))
    major = {name: _convert(amounts, reporting, rates, end) for name, amounts in minor.items()}
    start = major["start"]
    lost = major["churn"] + major["contraction"]
    won = major["expansion"] + major["reactivation"]
    return MrrChurn(
        start_mrr=start,
        new=major["new"],
        reactivation=major["reactivation"],
        expansion=major["expansion"],
        contraction=major["contraction"],
        churn=major["churn"],
        retained_mrr=major["retained"],
        gross_mrr_churn_rate=_ratio(lost, start),
        net_mrr_churn_rate=_ratio(lost - won, start),
        nrr=_ratio(start + major["expansion"] - lost, start),
        grr=_ratio(major["retained"], start),
    )


def _values(paid: pd.DataFrame, day: date) -> dict[tuple[str, str], float]:
    """Net MRR per (customer, currency) at the end of `day`."""
    rows = paid[paid["day"] == day]
    return {
        (str(customer), str(currency)): float(amount)
        for customer, currency, amount in rows[
            ["customer", "currency", "net_mrr_minor"]
        ].itertuples(index=False)
    }


def _kind(old: float, new: float, paid_before: bool) -> str:
    """The movement one customer's change is (the rule of `metrics.movements`)."""
    if old == 0:
        return "reactivation" if paid_before else "new"
    if new == 0:
        return "churn"
    return "expansion" if new > old else "contraction"


def _add(totals: dict[str, float], currency: str, amount: float) -> None:
    totals[currency] = totals.get(currency, 0.0) + amount


def _convert(
    minor: dict[str, float], reporting: str, rates: pd.DataFrame | None, on: date
) -> float:
    """Minor units per currency → major units of the reporting currency at `on`'s rate."""
    major = {currency: minor_to_major(amount, currency) for currency, amount in minor.items()}
    return convert_total(major, reporting, rates, on)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator

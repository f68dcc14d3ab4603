"""Revenue churn and retention: gross and net MRR churn, NRR and GRR, cohorts by signup month.

Everything sums the labelled changes of `sql/mrr_customer_changes.sql` (through
`metrics.movements.period_movements` and `sql/cohort_retention.sql`), the layer the movements
table sums too, so the movements behind a rate are the ones the movements table shows.
A rate mixing currencies values every amount at the period end's rate (constant currency), so
exchange-rate moves never show up as churn or expansion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import pandas as pd

from metrics._sql import as_days, run_layers
from metrics.fx import convert_total
from metrics.money import minor_to_major
from metrics.movements import CHANGES, history_start, period_movements
from metrics.mrr import DEFAULT_SETTINGS, MrrSettings, month_ends

KINDS = ["new", "reactivation", "expansion", "contraction", "churn"]


@dataclass(frozen=True)
class MrrChurn:
    """One period's MRR flows in major units of the reporting currency, and the rates on them.

    `retained_mrr`: what the customers paying at the start still pay at the end, each capped at
    its start value (GRR's numerator); `cohort_end_mrr`: what they pay at the end, uncapped (NRR's
    numerator: start + their expansion + reactivation − contraction − churn). Rates are None when
    the start MRR is 0.
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
    cohort_end_mrr: float = 0.0


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
    reactivation) ÷ start, all customers' movements; NRR = (start + expansion + reactivation −
    contraction − churn) ÷ start and GRR = Σ min(start, end) ÷ start, both over the movements of
    the customers paying at the start.
    """
    if since > as_of:
        raise ValueError(f"since ({since}) is after as_of ({as_of})")
    # the period's first day is the day after `since` (past `as_of` when the two are equal: then
    # both ends are read on the same day and nothing moves)
    totals = period_movements(
        con, since + timedelta(days=1), as_of, settings, True, _TOTALS, with_starts=True
    )
    return _period(totals, as_of, reporting_currency, rates)


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
    totals = period_movements(con, start, as_of, settings, False, _TOTALS, with_starts=True)
    rows = []
    before = start - timedelta(days=1)
    for end in month_ends(start, as_of):
        flows = _period(totals[totals["period_end"] == end], end, reporting_currency, rates)
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
    frame = run_layers(con, [*CHANGES, "cohort_retention.sql"], params)
    frame["cohort"] = as_days(frame["cohort"])
    frame["customer_retention"] = frame["retained_customers"] / frame["customers"]
    base = frame["base_mrr_minor"].where(frame["base_mrr_minor"] > 0)
    frame["revenue_retention"] = frame["mrr_minor"] / base
    return frame


# Per period and currency: the start MRR (everyone's), each movement's total, and, over the
# customers paying at the start (`in_cohort`), what they pay at the end (start + their signed
# movements) and what they still pay capped at their start (the start less each one's net loss).
# A kind is NULL where no customer moved that way, so its currency needs no exchange rate.
_TOTALS = """
WITH per_customer AS (
    SELECT DISTINCT period_end, customer, currency, start_mrr_minor, end_mrr_minor, in_cohort
    FROM mrr_period_movements
)
SELECT period_end, currency, COALESCE(s.start_mrr_minor, 0.0) AS start_mrr_minor,
    COALESCE(s.start_mrr_minor, 0.0) - COALESCE(c.lost, 0.0) AS retained_mrr_minor,
    COALESCE(s.start_mrr_minor, 0.0) + COALESCE(c.moved, 0.0) AS cohort_end_mrr_minor,
    k.new, k.reactivation, k.expansion, k.contraction, k.churn
FROM (SELECT period_end, currency, start_mrr_minor FROM mrr_period_starts) AS s
FULL OUTER JOIN (
    SELECT period_end, currency,
        SUM(amount_minor) FILTER (WHERE kind = 'new') AS new,
        SUM(amount_minor) FILTER (WHERE kind = 'reactivation') AS reactivation,
        SUM(amount_minor) FILTER (WHERE kind = 'expansion') AS expansion,
        SUM(amount_minor) FILTER (WHERE kind = 'contraction') AS contraction,
        SUM(amount_minor) FILTER (WHERE kind = 'churn') AS churn
    FROM mrr_period_movements
    GROUP BY ALL
) AS k USING (period_end, currency)
FULL OUTER JOIN (
    SELECT period_end, currency,
        SUM(GREATEST(start_mrr_minor - end_mrr_minor, 0)) AS lost,
        SUM(end_mrr_minor - start_mrr_minor) AS moved
    FROM per_customer
    WHERE in_cohort
    GROUP BY ALL
) AS c USING (period_end, currency)
"""


def _period(
    totals: pd.DataFrame, end: date, reporting: str, rates: pd.DataFrame | None
) -> MrrChurn:
    """One period's totals per currency (rows of `_TOTALS`), converted at `end`'s rate."""
    major = {
        name: _convert(_per_currency(totals, column), reporting, rates, end)
        for name, column in [*((kind, kind) for kind in KINDS), ("start", "start_mrr_minor")]
    }
    for name in ("retained", "cohort_end"):
        column = f"{name}_mrr_minor"
        major[name] = _convert(_per_currency(totals, column), reporting, rates, end)
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
        nrr=_ratio(major["cohort_end"], start),
        grr=_ratio(major["retained"], start),
        cohort_end_mrr=major["cohort_end"],
    )


def _per_currency(totals: pd.DataFrame, column: str) -> dict[str, float]:
    """Minor units per currency of one column, leaving out currencies without a value."""
    present = totals[totals[column].notna()]
    return {str(c): float(a) for c, a in zip(present["currency"], present[column], strict=True)}


def _convert(
    minor: dict[str, float], reporting: str, rates: pd.DataFrame | None, on: date
) -> float:
    """Minor units per currency → major units of the reporting currency at `on`'s rate."""
    major = {currency: minor_to_major(amount, currency) for currency, amount in minor.items()}
    return convert_total(major, reporting, rates, on)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator

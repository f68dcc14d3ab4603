"""Monthly figures of a simulated business, to check a preset looks like a real B2B SaaS.

Computed from the truth ledger (customers, churn, MRR) and the served charges and disputes,
never from paylens' metrics. A customer is active at the end of a day when one of their
subscriptions is in MRR then; churned customers are those active at the start of the month and
not at its end (so customers who joined and left inside the month are excluded, as in SPEC §5).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from fractions import Fraction
from typing import Any

from sandbox.objects.catalog import MINOR_UNITS
from sandbox.objects.clock import date_of
from sandbox.sim.model import Simulation
from sandbox.truth.ledger import MrrRules, counts, net_mrr
from sandbox.truth.report import churn_day, to_major

INVOLUNTARY = frozenset({"payment_failed", "unpaid"})
_RULES = MrrRules()


def _months(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """(first day, last day) of every calendar month touching [first, last], clipped to it."""
    months, cursor = [], first.replace(day=1)
    while cursor <= last:
        following = (cursor + dt.timedelta(days=32)).replace(day=1)
        months.append((max(cursor, first), min(following - dt.timedelta(days=1), last)))
        cursor = following
    return months


def _active(sim: Simulation, ordinal: int) -> tuple[set[str], dict[str, Fraction]]:
    """Customers in MRR at the end of a day, and MRR per currency (minor units) then."""
    customers: set[str] = set()
    mrr = {currency: Fraction(0) for currency in sim.currencies}
    for history in sim.ledger.histories.values():
        state = history.on(ordinal)
        if state is not None and counts(state, _RULES):
            customers.add(history.customer)
            mrr[state.currency] += net_mrr(state, ordinal, _RULES)
    return customers, mrr


def _by_month(timestamps: list[int]) -> Counter[tuple[int, int]]:
    counter: Counter[tuple[int, int]] = Counter()
    for ts in timestamps:
        day = date_of(ts)
        counter[(day.year, day.month)] += 1
    return counter


def monthly_stats(sim: Simulation) -> list[dict[str, Any]]:
    """One row per calendar month of the simulation (the first and last may be partial)."""
    charges = list(sim.charges.values())
    attempted = _by_month([c["created"] for c in charges])
    succeeded = _by_month([c["created"] for c in charges if c["status"] == "succeeded"])
    disputes = _by_month([d["created"] for d in sim.disputes.values()])
    churns: Counter[tuple[int, int]] = Counter()
    involuntary: Counter[tuple[int, int]] = Counter()
    for event in sim.ledger.churn_events:
        day = dt.date.fromordinal(churn_day(event, _RULES))
        churns[(day.year, day.month)] += 1
        involuntary[(day.year, day.month)] += event.cause in INVOLUNTARY
    ever_active: set[str] = set()
    rows = []
    previous, _ = _active(sim, sim.start.toordinal() - 1)
    for first, last in _months(sim.start, date_of(sim.now)):
        key = (first.year, first.month)
        current, mrr = _active(sim, last.toordinal())
        new = current - previous - ever_active
        churned = previous - current
        ever_active |= previous | current
        rows.append(
            {
                "month": f"{first.year}-{first.month:02d}",
                "customers_start": len(previous),
                "new": len(new),
                "churned": len(churned),
                "churn_rate": len(churned) / len(previous) if previous else 0.0,
                "payment_success_rate": succeeded[key] / attempted[key] if attempted[key] else 1.0,
                "involuntary_share": involuntary[key] / churns[key] if churns[key] else 0.0,
                "dispute_rate": disputes[key] / succeeded[key] if succeeded[key] else 0.0,
                "charges": attempted[key],
                "succeeded": succeeded[key],
                "churn_events": churns[key],
                "involuntary": involuntary[key],
                "disputes": disputes[key],
                "mrr": {c: to_major(v, MINOR_UNITS[c]) for c, v in sorted(mrr.items())},
            }
        )
        previous = current
    return rows


def format_stats(rows: list[dict[str, Any]]) -> str:
    """The rows as a fixed-width text table (rates in percent, MRR per currency)."""
    currencies = sorted({c for row in rows for c in row["mrr"]})
    header = ["month", "cust", "new", "churn", "churn%", "success%", "invol%", "disp%"]
    header += [f"mrr {c}" for c in currencies]
    lines = ["  ".join(f"{h:>10}" for h in header)]
    for row in rows:
        cells = [
            row["month"],
            str(row["customers_start"]),
            str(row["new"]),
            str(row["churned"]),
            f"{100 * row['churn_rate']:.1f}",
            f"{100 * row['payment_success_rate']:.1f}",
            f"{100 * row['involuntary_share']:.0f}",
            f"{100 * row['dispute_rate']:.2f}",
        ]
        cells += [f"{row['mrr'][c]:,.0f}" for c in currencies]
        lines.append("  ".join(f"{cell:>10}" for cell in cells))
    return "\n".join(lines)

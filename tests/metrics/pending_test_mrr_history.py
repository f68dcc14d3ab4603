# mypy: ignore-errors
"""Pins that still wait on the sync's history reconstruction (not collected: the file name does
not start with `test_`). The scenario pins all moved to test_mrr_pins.py (a pause at trial end and
a move to `unpaid` are now derived; kate's silent downgrade and tom's pause are pinned at what the
API shows). What still differs is the daily `demo` comparison: per subscription, outside the
tolerated silent changes, the item history misses price/quantity changes that only events carry
(`previous_attributes.items` inside the 30-day window is not used for items yet), and a few
multi-item/annual subscriptions differ after a renewal. Note the check below tolerates *every*
difference on a day once any silent change exists (truth's list is cumulative); a stricter check
should tolerate only the subscriptions it names.
Move each pin to test_mrr_pins.py as the sync learns to see it."""

from __future__ import annotations

from datetime import date

import duckdb

from metrics.mrr import MrrSettings, mrr_currency_daily
from sandbox.sim import truth
from tests.metrics.scenarios import DEMO_UNTIL, simulate_named, synced_snapshot


def _net(
    con: duckdb.DuckDBPyConnection, day: date, settings: MrrSettings | None = None
) -> dict[str, float]:
    daily = mrr_currency_daily(con, day, day, settings or MrrSettings())
    return dict(zip(daily["currency"], daily["net_mrr_minor"], strict=True))


def test_on_demo_mrr_per_currency_equals_the_truth_every_day() -> None:
    sim = simulate_named("demo")
    import tempfile
    from pathlib import Path

    con = synced_snapshot(sim, Path(tempfile.mkdtemp()))
    first = date(2024, 11, 20)
    daily = mrr_currency_daily(con, first, DEMO_UNTIL)
    ours = {(r.day, r.currency): r.net_mrr_minor for r in daily.itertuples()}
    day, wrong = first, []
    while day <= DEMO_UNTIL:
        expected = truth(sim, day)
        tolerated = {c["subscription"] for c in expected["unobservable_changes"]}
        for currency, major in expected["mrr_by_currency"].items():
            scale = 1 if currency == "jpy" else 100
            if abs(ours.get((day, currency), 0.0) / scale - major) > 0.005 and not tolerated:
                wrong.append((day, currency))
        day = date.fromordinal(day.toordinal() + 1)
    assert wrong == []

"""The signals the alert engine reads (metrics.signals): pinned on the alert_signals scenario
(tests/metrics/scenario_files/alert_signals.toml, synced through the sandbox) and on hand-built
warehouses for the edges the sandbox does not produce (pending webhooks, failed sync runs)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from metrics.signals import (
    RateWindow,
    decline_driver,
    describe,
    disabled_endpoints_at,
    disputes_due,
    new_disputes,
    shift_share,
    success_baseline,
    success_trend,
    success_window,
    sync_health,
    webhook_delivery_window,
    wilson_interval,
)
from sandbox.sim import Simulation
from tests.metrics.scenarios import simulate_named, synced_snapshot
from tests.metrics.test_boundaries import CLOCK_SQL, FORBIDDEN_CALLS, attribute_names
from tests.metrics.warehouse import API_VERSION, SYNCED_AT, Warehouse

H = timedelta(hours=1)
END = datetime(2025, 2, 5, 14, 0, tzinfo=UTC)  # the alert's clock: three hours after 11:00
METRICS = Path(__file__).resolve().parents[2] / "metrics"


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate_named("alert_signals")


@pytest.fixture(scope="module")
def scenario(
    sim: Simulation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(sim, tmp_path_factory.mktemp("alert_signals"))
    yield con
    con.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- payment success windows ---


def test_a_window_counts_the_charges_created_in_it(scenario: duckdb.DuckDBPyConnection) -> None:
    window = success_window(scenario, end=END, window=3 * H)

    assert (window.start, window.end) == (at("2025-02-05 11:00"), END)
    assert (window.attempted, window.succeeded, window.widened) == (209, 112, False)
    assert window.rate == 112 / 209
    assert window.spans == ((window.start, window.end),)


def test_a_window_is_open_at_its_start_closed_at_its_end_and_skips_pending(wh: Warehouse) -> None:
    _charges(
        wh,
        ("ch_at_start", "2026-03-01 09:00", "succeeded"),  # not in (09:00, 10:00]
        ("ch_in", "2026-03-01 09:00:01", "failed"),
        ("ch_pending", "2026-03-01 09:30", "pending"),
        ("ch_at_end", "2026-03-01 10:00", "succeeded"),
        ("ch_after", "2026-03-01 10:00:01", "succeeded"),
    )
    window = success_window(wh.con, end=at("2026-03-01 10:00"), window=H)

    assert (window.attempted, window.succeeded, window.rate) == (2, 1, 0.5)


def test_the_end_may_be_given_in_any_zone_but_not_without_one(wh: Warehouse) -> None:
    _charges(wh, ("ch_1", "2026-03-01 09:30", "succeeded"))
    paris = datetime(2026, 3, 1, 11, 0, tzinfo=timezone(timedelta(hours=1)))

    window = success_window(wh.con, end=paris, window=H)

    assert (window.start, window.end, window.attempted) == (at("2026-03-01 09:00"), paris, 1)
    assert window.end.tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        success_window(wh.con, end=datetime(2026, 3, 1, 10), window=H)


def test_a_window_short_of_its_sample_widens_hour_by_hour(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    # From 17:00 the renewals collected in (12:00, 13:30] are 3.5 to 5 hours old: one hour holds
    # none, five hold all 209 (doubling would have jumped to eight).
    late = at("2025-02-05 17:00")
    widened = success_window(scenario, end=late, window=H, min_sample=100, max_window=12 * H)
    capped = success_window(scenario, end=late, window=H, min_sample=100, max_window=3 * H)
    unasked = success_window(scenario, end=late, window=H, min_sample=100)
    enough = success_window(scenario, end=END, window=3 * H, min_sample=100, max_window=12 * H)

    assert (widened.start, widened.attempted, widened.succeeded) == (
        at("2025-02-05 12:00"),
        209,
        112,
    )
    assert widened.widened
    assert (capped.start, capped.attempted, capped.rate, capped.widened) == (
        at("2025-02-05 14:00"), 0, None, True,
    )  # fmt: skip
    assert (unasked.attempted, unasked.widened) == (0, False)
    assert (enough.start, enough.attempted, enough.widened) == (at("2025-02-05 11:00"), 209, False)


def test_the_last_widening_step_stops_at_max_window(wh: Warehouse) -> None:
    _charges(
        wh,
        ("ch_a", "2026-03-01 09:30", "succeeded"),  # 30 minutes before the end
        ("ch_b", "2026-03-01 08:10", "failed"),  # 1 h 50
        ("ch_c", "2026-03-01 07:40", "succeeded"),  # 2 h 20
        ("ch_d", "2026-03-01 07:20", "succeeded"),  # 2 h 40: beyond max_window
    )
    end = at("2026-03-01 10:00")
    two = success_window(wh.con, end=end, window=H, min_sample=2, max_window=2.5 * H)
    three = success_window(wh.con, end=end, window=H, min_sample=3, max_window=2.5 * H)
    four = success_window(wh.con, end=end, window=H, min_sample=4, max_window=2.5 * H)

    assert (two.start, two.attempted, two.succeeded) == (at("2026-03-01 08:00"), 2, 1)
    assert (three.start, three.attempted) == (at("2026-03-01 07:30"), 3)
    assert (four.start, four.attempted, four.widened) == (at("2026-03-01 07:30"), 3, True)


def test_the_baseline_pools_the_same_hours_of_previous_weeks(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    window = success_window(scenario, end=END, window=3 * H)

    four = success_baseline(scenario, window=window)
    five = success_baseline(scenario, window=window, weeks=5)

    assert four is not None and five is not None
    assert (four.start, four.end) == (at("2025-01-08 11:00"), at("2025-01-29 14:00"))
    # 199 renewals a week; amex's 50 fail every week, gb_late's 2 on Jan 22.
    assert (four.attempted, four.succeeded, four.rate) == (796, 594, 594 / 796)
    assert [span[0].day for span in four.spans] == [8, 15, 22, 29]
    assert all(stop - start == 3 * H for start, stop in four.spans)
    # The fifth week back is Jan 1: the 199 checkouts, all paid.
    assert (five.start, five.attempted, five.succeeded) == (at("2025-01-01 11:00"), 995, 793)


def test_a_baseline_without_attempts_is_none_and_one_longer_than_a_week_is_refused(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    first_week = success_window(scenario, end=at("2025-01-03 14:00"), window=3 * H)
    long = RateWindow(at("2025-01-20 00:00"), END, 1, 1, 1.0, False)

    assert success_baseline(scenario, window=first_week) is None
    with pytest.raises(ValueError, match="longer than a week"):
        success_baseline(scenario, window=long)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        # Newcombe (1998), Statistics in Medicine 17:857, table II, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0),
    ],
)
def test_wilson_interval_matches_published_values(
    successes: int, n: int, low: float, high: float
) -> None:
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_knows_nothing_without_a_sample_and_widens_with_confidence() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low95, high95 = wilson_interval(8, 10)
    low99, high99 = wilson_interval(8, 10, 0.99)
    assert low99 < low95 < 0.8 < high95 < high99
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_a_trend_splits_the_window_into_equal_sub_windows_oldest_first(
    scenario: duckdb.DuckDBPyConnection, sim: Simulation
) -> None:
    trend = success_trend(scenario, end=END, window=3 * H, points=3)
    weekly = success_trend(scenario, end=END, window=timedelta(weeks=5), points=5)

    assert [p.end for p in trend] == [at("2025-02-05 12:00"), at("2025-02-05 13:00"), END]
    assert [(p.attempted, p.rate) for p in trend] == [_truth(sim, p.end - H, p.end) for p in trend]
    assert (trend[0].attempted, trend[0].rate) == (0, None)
    assert sum(p.attempted for p in trend) == 209
    assert [p.end for p in weekly] == [END - timedelta(weeks=k) for k in range(4, -1, -1)]
    assert [(p.attempted, p.rate) for p in weekly] == [
        _truth(sim, p.end - timedelta(weeks=1), p.end) for p in weekly
    ]


# --- the decline driver ---


@pytest.mark.parametrize(
    ("baseline", "window", "effects"),
    [
        # pure mix: both rates unchanged, the weak segment grew from half to three quarters
        ({"a": (100, 90), "b": (100, 50)}, {"a": (50, 45), "b": (150, 75)},
         {"a": (0.0, -0.05), "b": (0.0, -0.05)}),
        # pure rate: shares unchanged, a's rate fell from 90 % to 50 %
        ({"a": (100, 90), "b": (100, 50)}, {"a": (100, 50), "b": (100, 50)},
         {"a": (-0.2, 0.0), "b": (0.0, 0.0)}),
        # a segment new in the window: all of its effect is mix
        ({"a": (100, 90)}, {"a": (50, 45), "c": (50, 10)}, {"a": (0.0, 0.0), "c": (0.0, -0.35)}),
    ],
)  # fmt: skip
def test_shift_share_splits_the_change_into_rate_and_mix_effects_that_add_up(
    baseline: dict[str, tuple[int, int]],
    window: dict[str, tuple[int, int]],
    effects: dict[str, tuple[float, float]],
) -> None:
    result = shift_share(baseline, window)
    change = _rate(window) - _rate(baseline)

    assert {k: pytest.approx(v, abs=1e-12) for k, v in result.items()} == effects
    assert sum(r + m for r, m in result.values()) == pytest.approx(change, abs=1e-12)


def test_the_driver_is_the_segment_whose_rate_fell_with_its_commonest_decline_code(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    window = success_window(scenario, end=END, window=3 * H)
    baseline = success_baseline(scenario, window=window)
    assert baseline is not None

    driver = decline_driver(scenario, window=window, baseline=baseline)

    assert driver is not None
    assert dict(driver.segment) == {
        "card_brand": "visa", "card_country": "BR", "card_funding": "credit",
        "decline": "do_not_honor",
    }  # fmt: skip
    assert (driver.failures, driver.segment_failures, driver.total_failures) == (40, 43, 97)
    assert (driver.attempted, driver.rate, driver.baseline_rate) == (43, 0.0, 1.0)
    # visa BR credit: 172 of 796 attempts in the baseline (all paid), 43 of 209 now (none paid)
    w, w2, base_rate = Fraction(172, 796), Fraction(43, 209), Fraction(594, 796)
    rate_effect = (0 - 1) * (w + w2) / 2
    mix_effect = (w2 - w) * (Fraction(1, 2) - base_rate)
    change = Fraction(112, 209) - base_rate
    assert driver.rate_effect == pytest.approx(float(rate_effect), abs=1e-12)
    assert driver.mix_effect == pytest.approx(float(mix_effect), abs=1e-12)
    assert driver.share_of_drop == pytest.approx(float((rate_effect + mix_effect) / change))
    assert (
        driver.text
        == "Visa credit cards issued in BR declining with do_not_honor, 40 of 97 failures"
    )


def test_the_segments_effects_add_up_to_the_change_in_success_rate(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    window = success_window(scenario, end=END, window=3 * H)
    baseline = success_baseline(scenario, window=window)
    assert baseline is not None and window.rate is not None and baseline.rate is not None
    segments = {
        (brand, country, funding): (n, ok)
        for brand, country, funding, n, ok in [
            ("visa", "BR", "credit", 172, 172), ("visa", "US", "credit", 256, 256),
            ("mastercard", "GB", "debit", 168, 166), ("amex", "US", "credit", 200, 0),
        ]
    }  # fmt: skip
    now = {("visa", "BR", "credit"): (43, 0), ("visa", "US", "credit"): (64, 60),
           ("mastercard", "GB", "debit"): (52, 52), ("amex", "US", "credit"): (50, 0)}  # fmt: skip

    effects = shift_share(segments, now)

    assert sum(r + m for r, m in effects.values()) == pytest.approx(window.rate - baseline.rate)
    driver = decline_driver(scenario, window=window, baseline=baseline)
    assert driver is not None
    assert (driver.rate_effect, driver.mix_effect) == effects[("visa", "BR", "credit")]


def test_without_a_baseline_the_driver_is_the_commonest_failure(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    window = success_window(scenario, end=END, window=3 * H)

    driver = decline_driver(scenario, window=window, baseline=None)

    # amex's chronic weekly declines outnumber the spike, which only the baseline reveals
    assert driver is not None
    assert dict(driver.segment) == {
        "card_brand": "amex", "card_country": "US", "card_funding": "credit",
        "decline": "generic_decline",
    }  # fmt: skip
    assert (driver.failures, driver.total_failures, driver.attempted) == (50, 97, 50)
    assert (driver.rate_effect, driver.mix_effect, driver.share_of_drop) == (0.0, 0.0, 50 / 97)
    assert driver.text == (
        "American Express credit cards issued in US declining with generic_decline, "
        "50 of 97 failures"
    )


def test_a_window_without_failures_has_no_driver(scenario: duckdb.DuckDBPyConnection) -> None:
    saturday = success_window(scenario, end=at("2025-01-25 14:00"), window=3 * H)  # retries

    assert saturday.attempted > 0 and saturday.rate == 1.0
    assert decline_driver(scenario, window=saturday, baseline=None) is None


def test_the_decline_code_falls_back_to_the_network_code_then_the_failure_code(
    wh: Warehouse,
) -> None:
    card = ("visa", "BR", "credit")
    _charges(
        wh,
        *[(f"ch_ok_{i}", f"2026-03-08 09:{i:02}", "succeeded", *card) for i in range(6)],
        *[(f"ch_ok_{i}", f"2026-03-15 09:{i:02}", "succeeded", *card) for i in range(10, 14)],
        ("ch_05_1", "2026-03-15 09:20", "failed", *card, None, "05", "card_declined"),
        ("ch_05_2", "2026-03-15 09:21", "failed", *card, None, "05", "card_declined"),
        ("ch_fc", "2026-03-15 09:22", "failed", None, None, None, None, None, "expired_card"),
    )
    end = at("2026-03-15 10:00")
    window = success_window(wh.con, end=end, window=H)
    baseline = success_baseline(wh.con, window=window, weeks=1)
    last = success_window(wh.con, end=end, window=timedelta(minutes=39))  # only ch_fc failed

    driver = decline_driver(wh.con, window=window, baseline=baseline)
    unknown = decline_driver(wh.con, window=last, baseline=None)

    assert driver is not None and unknown is not None
    assert driver.segment["decline"] == "05"
    assert driver.text == "Visa credit cards issued in BR declining with 05, 2 of 3 failures"
    assert dict(unknown.segment) == {
        "card_brand": "", "card_country": "", "card_funding": "", "decline": "expired_card",
    }  # fmt: skip
    assert unknown.text == "Cards declining with expired_card, 1 of 1 failure"
    assert describe("mastercard", "GB", "unknown", "", 2, 9) == (
        "Mastercard cards issued in GB declining without a decline code, 2 of 9 failures"
    )


def test_when_the_rate_rose_the_driver_falls_back_to_the_commonest_failure(wh: Warehouse) -> None:
    _charges(
        wh,
        ("ch_a1", "2026-03-08 09:10", "failed", "visa", "US", "credit", "do_not_honor"),
        ("ch_a2", "2026-03-08 09:11", "failed", "visa", "US", "credit", "do_not_honor"),
        ("ch_b1", "2026-03-15 09:10", "failed", "amex", "US", "credit", "insufficient_funds"),
        ("ch_b2", "2026-03-15 09:11", "succeeded", "visa", "US", "credit"),
    )
    window = success_window(wh.con, end=at("2026-03-15 10:00"), window=H)
    baseline = success_baseline(wh.con, window=window, weeks=1)

    driver = decline_driver(wh.con, window=window, baseline=baseline)

    # 0 of 2 paid a week ago, 1 of 2 now: no drop to explain, so the most failures explain it
    assert driver is not None and driver.segment["card_brand"] == "amex"
    assert (driver.failures, driver.share_of_drop, driver.baseline_rate) == (1, 1.0, None)
    assert driver.text == (
        "American Express credit cards issued in US declining with insufficient_funds, "
        "1 of 1 failure"
    )


# --- webhooks, disputes, endpoints ---


def test_webhook_window_judges_the_events_older_than_the_grace_period(
    scenario: duckdb.DuckDBPyConnection, sim: Simulation
) -> None:
    delivery = webhook_delivery_window(scenario, end=END, window=3 * H)

    start, cutoff = (END - 3 * H).timestamp(), (END - H).timestamp()
    judged = [e for e in sim.events.values() if start < e["created"] < cutoff]
    assert (delivery.start, delivery.end) == (END - 3 * H, END)
    assert (delivery.judged, delivery.delivered, delivery.rate) == (len(judged), len(judged), 1.0)
    assert len(judged) > 100
    assert (delivery.pending, delivery.oldest_pending) == (0, None)


def test_webhook_window_counts_pending_events_of_any_age(wh: Warehouse) -> None:
    _events(
        wh,
        ("evt_old_stuck", "2026-03-09 12:00", 1),  # before the window: pending only
        ("evt_at_start", "2026-03-10 06:00", 0),  # (06:00, 12:00]: not in it
        ("evt_ok", "2026-03-10 07:00", 0),
        ("evt_stuck", "2026-03-10 08:00", 2),
        ("evt_edge", "2026-03-10 11:00", 0),  # exactly an hour old: not past the grace yet
        ("evt_young", "2026-03-10 11:30", 1),
        ("evt_later", "2026-03-10 12:00:01", 1),
    )
    end = at("2026-03-10 12:00")

    delivery = webhook_delivery_window(wh.con, end=end, window=6 * H)
    no_grace = webhook_delivery_window(wh.con, end=end, window=6 * H, grace=timedelta(0))

    assert (delivery.judged, delivery.delivered, delivery.rate) == (2, 1, 0.5)
    assert (delivery.pending, delivery.oldest_pending) == (3, at("2026-03-09 12:00"))
    assert (no_grace.judged, no_grace.delivered) == (4, 2)


def test_new_disputes_are_those_opened_in_the_window(scenario: duckdb.DuckDBPyConnection) -> None:
    names = [d.customer_name for d in new_disputes(scenario, since=at("2025-02-04 10:00"), end=END)]
    found = new_disputes(scenario, since=at("2025-02-04 09:59"), end=END)

    assert names == ["Eli Okafor", "Fay Lin"]  # dana's opened at 10:00 exactly: not after it
    assert [(d.customer_name, d.status, d.has_evidence, d.reason) for d in found] == [
        ("Dana Díaz", "needs_response", False, "fraudulent"),
        ("Eli Okafor", "under_review", True, "product_not_received"),
        ("Fay Lin", "needs_response", False, "unrecognized"),
    ]
    dana = found[0]
    assert (dana.amount, dana.currency, dana.created, dana.due_by) == (
        4_900, "usd", at("2025-02-04 10:00"), at("2025-02-07 12:00"),
    )  # fmt: skip
    assert dana.charge is not None and dana.customer is not None
    assert dana.charge.startswith("ch_") and dana.customer.startswith("cus_")


def test_disputes_due_are_open_without_evidence_and_due_inside_the_horizon(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    def due(end: datetime, within: timedelta) -> list[str | None]:
        return [d.customer_name for d in disputes_due(scenario, end=end, within=within)]

    # eli's is due even sooner (02-07 11:00) but has evidence and is under review
    assert due(END, 72 * H) == ["Dana Díaz"]
    assert due(END, timedelta(days=8)) == ["Dana Díaz", "Fay Lin"]
    assert due(at("2025-02-07 12:00"), 72 * H) == []  # dana's deadline is now: no longer due
    assert due(at("2025-02-09 12:00"), 72 * H) == ["Fay Lin"]


def test_disabled_endpoints_are_listed_from_their_creation(
    scenario: duckdb.DuckDBPyConnection,
) -> None:
    endpoints = disabled_endpoints_at(scenario, end=END)

    assert [(e.url, e.status) for e in endpoints] == [
        ("https://hooks.example.test/legacy-disputes", "disabled")
    ]
    assert disabled_endpoints_at(scenario, end=at("2024-12-31 23:00")) == ()


# --- the sync's health ---


def test_a_synced_warehouse_is_healthy_from_its_run_on(
    scenario: duckdb.DuckDBPyConnection, sim: Simulation
) -> None:
    synced = datetime.fromtimestamp(sim.now, UTC)  # Stripe's clock at the sync: the sandbox's
    health = sync_health(scenario, end=synced + 5 * timedelta(minutes=1))

    assert (health.last_ok, health.age) == (synced, timedelta(minutes=5))
    assert (health.consecutive_failures, health.last_error, health.runs) == (0, None, 1)
    before = sync_health(scenario, end=synced - H)
    assert (before.last_ok, before.age, before.runs) == (None, None, 0)


def test_sync_health_counts_the_failures_since_the_last_good_run(wh: Warehouse) -> None:
    _runs(
        wh,
        ("r1", "2026-03-01 10:00", "2026-03-01 10:01", "ok", None, "2026-03-01 10:01:30"),
        ("r2", "2026-03-01 10:05", "2026-03-01 10:06", "failed", "connection reset", None),
        ("r3", "2026-03-01 10:10", "2026-03-01 10:10", "abandoned", None, None),
        ("r4", "2026-03-01 10:15", "2026-03-01 10:16", "partial", "refunds: forbidden", None),
        ("r5", "2026-03-01 10:20", None, "running", None, None),
    )

    health = sync_health(wh.con, end=at("2026-03-01 10:30"))
    earlier = sync_health(wh.con, end=at("2026-03-01 10:07"))

    assert (health.last_ok, health.age) == (at("2026-03-01 10:01:30"), timedelta(minutes=28.5))
    assert (health.consecutive_failures, health.last_error) == (2, "refunds: forbidden")
    assert (health.runs, health.last_status) == (5, "running")
    assert (earlier.consecutive_failures, earlier.last_error, earlier.runs) == (
        1, "connection reset", 2,
    )  # fmt: skip


def test_a_good_run_resets_the_failures_and_without_one_every_failure_counts(
    wh: Warehouse,
) -> None:
    _runs(
        wh,
        ("r1", "2026-03-01 10:00", "2026-03-01 10:01", "failed", "bad gateway", None),
        ("r2", "2026-03-01 10:05", "2026-03-01 10:06", "failed", "timeout", None),
        ("r3", "2026-03-01 10:10", "2026-03-01 10:11", "ok", None, None),  # no account_time
    )

    never = sync_health(wh.con, end=at("2026-03-01 10:08"))
    healed = sync_health(wh.con, end=at("2026-03-01 10:12"))

    assert (never.last_ok, never.consecutive_failures, never.last_error) == (None, 2, "timeout")
    assert (healed.last_ok, healed.consecutive_failures, healed.last_error) == (
        at("2026-03-01 10:11"), 0, None,
    )  # fmt: skip


# --- discipline ---


def test_signal_sql_takes_its_time_bounds_as_parameters_and_never_reads_the_clock() -> None:
    sql = sorted((METRICS / "sql").glob("signal_*.sql"))
    python = sorted(METRICS.glob("signals*.py"))

    assert len(sql) >= 9 and len(python) >= 4
    for path in sql:
        text = path.read_text(encoding="utf-8")
        assert CLOCK_SQL.search(text) is None, path
        assert "$as_of" in text or "Reads the layer `signal_" in text, path
    for path in python:
        assert (
            attribute_names(ast.parse(path.read_text(encoding="utf-8"))) & FORBIDDEN_CALLS == set()
        )


def test_signals_run_on_a_read_only_snapshot(scenario: duckdb.DuckDBPyConnection) -> None:
    window = success_window(scenario, end=END, window=3 * H)

    assert decline_driver(
        scenario, window=window, baseline=success_baseline(scenario, window=window)
    )
    with pytest.raises(duckdb.Error, match="read-only"):
        scenario.execute("CREATE TABLE scratch (a INTEGER)")


# --- helpers ---


def _charges(wh: Warehouse, *rows: tuple[str | None, ...]) -> None:
    """(id, created, status, brand, country, funding, outcome_reason, network code, failure
    code): trailing fields may be left out (NULL)."""
    padded = [(*row, *[None] * (9 - len(row))) for row in rows]
    wh.con.executemany(
        "INSERT INTO charges (id, created, amount, currency, status, card_brand, card_country, "
        "card_funding, outcome_reason, network_decline_code, failure_code, raw, api_version, "
        "synced_at) VALUES (?, ?, 1000, 'usd', ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
        [(*row[:2], *row[2:], API_VERSION, SYNCED_AT) for row in padded],
    )


def _events(wh: Warehouse, *rows: tuple[str, str, int]) -> None:
    wh.con.executemany(
        "INSERT INTO events (id, created, type, pending_webhooks, raw, api_version, synced_at) "
        "VALUES (?, ?, 'invoice.paid', ?, '{}', ?, ?)",
        [(id_, datetime.fromisoformat(t), n, API_VERSION, SYNCED_AT) for id_, t, n in rows],
    )


def _runs(wh: Warehouse, *rows: tuple[str, str, str | None, str, str | None, str | None]) -> None:
    """(run_id, started_at, finished_at, status, error, account_time)."""
    wh.con.executemany(
        "INSERT INTO sync_runs (run_id, kind, started_at, finished_at, status, error, "
        "account_time) VALUES (?, 'incremental', ?, ?, ?, ?, ?)",
        [list(row) for row in rows],
    )


def _truth(sim: Simulation, start: datetime, end: datetime) -> tuple[int, float | None]:
    """(attempted, rate) over (start, end] from the simulation's own charges."""
    tried = [
        c["status"] == "succeeded"
        for c in sim.charges.values()
        if start.timestamp() < c["created"] <= end.timestamp() and c["status"] != "pending"
    ]
    return len(tried), (sum(tried) / len(tried) if tried else None)


def _rate(counts: dict[str, tuple[int, int]]) -> float:
    return sum(ok for _, ok in counts.values()) / sum(n for n, _ in counts.values())

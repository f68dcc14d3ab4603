"""The incremental MRR refresh (`metrics.refresh.refresh_pending`) equals a full refresh.

Each case runs the service's cycle without the publish (sync, then refresh what the sync left
in `mrr_pending`) against the real sandbox on a live clock, moved by hand between syncs so that
real renewals, failures, cancellations and their events arrive in between. Then a copy of the
warehouse is refreshed whole (`metrics.refresh.refresh`), and every stored MRR table must hold
the same rows (EXCEPT ALL both ways) and the summary the same figures, under Stripe's settings
and the others. The cycles use `full_share=1.0`, so every one after the first takes the
incremental path whatever share of a small account it touches; each case shows it did.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from app.service import build_reader, sync_options
from app.settings import Settings
from metrics._sql import STORED
from metrics.churn import DEFAULT_CHURN, ChurnSettings
from metrics.mrr import MrrSettings, mrr_subscription_daily
from metrics.refresh import FULL_SHARE, Refreshed, refresh, refresh_pending
from metrics.summary import Summary, summarise
from sandbox.api.server import start_server
from sandbox.sim import Simulation, simulate
from sync.client import API_VERSION
from sync.engine import sync
from sync.history import STATE, note_changes
from sync.ingest import Staging, flush, prepare, stage_pages
from sync.store import delete_state, open_warehouse, transaction
from tests.conftest import settings_for
from tests.metrics.scenarios import simulate_named
from tests.metrics.test_refresh import SCENARIOS
from tests.metrics.test_truth_seeds import SEEDS
from tests.metrics.truth_checks import SEEDS_UNTIL
from tests.metrics.warehouse import SYNCED_AT, Price, Sub, Warehouse

DAY = 86_400  # seconds: the live clock runs at one simulated second a wall second
# Days the account's clock moves before each sync after the backfill, each under the 30 days of
# events Stripe keeps (an older cursor makes the sync a backfill). A scenario's subscriptions
# mostly renew on one day of the month: 72 days pass at least two such days.
DEMO_DAYS = (0.5, 1.0, 1.5)
SCENARIO_DAYS = (12.0,) * 6
# The settings the summaries are compared under: Stripe's, and every other one switched.
DEFINITIONS = (
    DEFAULT_CHURN,
    ChurnSettings(subtract_repeating=False, subtract_once=True, churn_at_period_end=True),
)


@dataclass
class Run:
    master: Path
    refreshed: list[Refreshed]  # per cycle, the backfill's first
    as_of: date  # the account's day at the last sync


class Account:
    """A sandbox served on a live clock and a warehouse synced from it, one cycle at a time."""

    def __init__(self, sim: Simulation, data_dir: Path) -> None:
        self.sim, self.wall = sim, [0.0]
        self.server = start_server(sim, speed=1.0, wall_clock=lambda: self.wall[0])
        self.settings: Settings = settings_for(self.server, data_dir)
        self.con = open_warehouse(self.settings.master_path)

    def later(self, days: float) -> None:
        self.wall[0] += days * DAY

    def sync(self) -> int:
        """Sync (the history rebuilt and committed); how many subscriptions it rebuilt."""
        result = sync(build_reader(self.settings), self.con, sync_options(self.settings))
        assert result.status == "ok", result.error
        return result.history_rebuilt

    def cycle(self) -> Refreshed:
        self.sync()
        return refresh_pending(self.con, full_share=1.0)

    def reopen(self) -> None:
        """The service stopped (its connection gone, nothing after it run) and started again."""
        self.con.close()
        self.con = open_warehouse(self.settings.master_path)

    def close(self, refreshed: list[Refreshed]) -> Run:
        self.con.close()
        self.server.shutdown()
        as_of = datetime.fromtimestamp(self.sim.now, UTC).date()
        return Run(self.settings.master_path, refreshed, as_of)


def _live_run(sim: Simulation, data_dir: Path, days: Sequence[float]) -> Run:
    """A backfill, then a sync after each of `days`."""
    account, refreshed = Account(sim, data_dir), []
    try:
        refreshed.append(account.cycle())
        for step in days:
            account.later(step)
            refreshed.append(account.cycle())
    finally:
        run = account.close(refreshed)
    return run


def _differences(run: Run, copy: Path) -> dict[str, int]:
    """Rows of each stored table in the incremental warehouse and not in a full refresh of a
    copy of it, or the other way round."""
    shutil.copy(run.master, copy)
    con = duckdb.connect(str(copy))
    try:
        refresh(con)
        con.execute(f"ATTACH '{run.master}' AS incremental (READ_ONLY)")
        return {
            table: con.execute(
                f"SELECT (SELECT count(*) FROM (FROM {table} EXCEPT ALL FROM incremental.{table}))"
                f" + (SELECT count(*) FROM (FROM incremental.{table} EXCEPT ALL FROM {table}))"
            ).fetchall()[0][0]
            for table in STORED
        }
    finally:
        con.close()


def _summaries(path: Path, as_of: date) -> list[Summary]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            summarise(
                con,
                as_of=as_of,
                since=as_of - timedelta(days=30),
                definition=definition,
                reporting_currency="usd",
                rates=None,
            )
            for definition in DEFINITIONS
        ]
    finally:
        con.close()


def _assert_incremental_equals_full(run: Run, tmp_path: Path) -> None:
    first, *cycles = run.refreshed
    assert first.mode == "full"  # the first refresh stores the tables
    redone = [r for r in cycles if r.mode == "incremental"]
    assert len(redone) >= 2, run.refreshed  # several incremental cycles, with real changes
    assert all(r.subscriptions > 0 and r.customers > 0 for r in redone)
    assert all(r.mode != "full" for r in cycles)
    full = tmp_path / "full.duckdb"
    assert _differences(run, full) == dict.fromkeys(STORED, 0)
    incremental = [asdict(s) for s in _summaries(run.master, run.as_of)]
    assert _mismatches(incremental, [asdict(s) for s in _summaries(full, run.as_of)]) == []


def _mismatches(ours: object, theirs: object, path: str = "") -> list[str]:
    """Where two summaries (as nested dicts and lists) differ."""
    if isinstance(ours, dict) and isinstance(theirs, dict) and ours.keys() == theirs.keys():
        pairs = [(f"{path}.{key}", ours[key], theirs[key]) for key in ours]
    elif isinstance(ours, list | tuple) and isinstance(theirs, list | tuple):
        if len(ours) != len(theirs):
            return [f"{path}: {len(ours)} != {len(theirs)} items"]
        pairs = [(f"{path}[{i}]", a, b) for i, (a, b) in enumerate(zip(ours, theirs, strict=True))]
    else:
        return [] if _same(ours, theirs) else [f"{path}: {ours!r} != {theirs!r}"]
    return [found for where, a, b in pairs for found in _mismatches(a, b, where)]


def _same(ours: object, theirs: object) -> bool:
    """Floats to 1e-12 of their size: the same rows read in another order (a table written whole,
    or one unit at a time) are summed in another order."""
    if isinstance(ours, float) and isinstance(theirs, float):
        both_nan = math.isnan(ours) and math.isnan(theirs)
        return both_nan or math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-9)
    return ours == theirs


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, list[str]]:
    """`demo` after a backfill and three syncs on a live clock, then an idle cycle; the digest
    of every stored table before and after the idle one."""
    account, refreshed = Account(simulate_named("demo"), tmp_path_factory.mktemp("demo")), []
    try:
        refreshed.append(account.cycle())
        for step in DEMO_DAYS:
            account.later(step)
            refreshed.append(account.cycle())
        before = _digests(account.con)
        refreshed.append(account.cycle())  # the clock has not moved: nothing happened
        digests = [before, _digests(account.con)]
    finally:
        run = account.close(refreshed)
    return run, digests


def _digests(con: duckdb.DuckDBPyConnection) -> str:
    return repr(
        [con.execute(f"SELECT count(*), sum(hash(t)) FROM {t} AS t").fetchall() for t in STORED]
    )


def test_the_incremental_refresh_on_demo_after_a_live_clock_run_equals_a_full_one(
    demo_run: tuple[Run, list[str]], tmp_path: Path
) -> None:
    run, _ = demo_run
    *cycles, _idle = run.refreshed  # the idle cycle: the next test
    _assert_incremental_equals_full(replace(run, refreshed=cycles), tmp_path)


def test_an_idle_cycle_refreshes_nothing_and_touches_no_stored_row(
    demo_run: tuple[Run, list[str]],
) -> None:
    run, (before, after) = demo_run
    assert run.refreshed[-1] == Refreshed("none", 0, 0)
    assert after == before


def test_a_crash_between_the_history_and_the_refresh_leaves_the_pending_for_the_next_one(
    tmp_path: Path,
) -> None:
    account, refreshed = Account(simulate_named("dunning"), tmp_path / "data"), []
    try:
        refreshed.append(account.cycle())
        rebuilt = []
        for step in SCENARIO_DAYS[:2]:
            account.later(step)
            rebuilt.append(account.sync())  # the history committed; the service dies before
            account.reopen()  # refreshing, twice
        left = account.con.execute("SELECT count(*) FROM mrr_pending").fetchall()[0][0]
        assert left >= max(rebuilt) > 0
        for step in SCENARIO_DAYS[2:4]:
            account.later(step)
            refreshed.append(account.cycle())
        assert refreshed[1].mode == "incremental" and refreshed[1].subscriptions >= left
        assert account.con.execute("SELECT count(*) FROM mrr_pending").fetchall()[0][0] == 0
    finally:
        run = account.close(refreshed)
    assert _differences(run, tmp_path / "full.duckdb") == dict.fromkeys(STORED, 0)


def test_a_full_history_rebuild_makes_the_next_refresh_full(tmp_path: Path) -> None:
    """Every subscription is pending after it: past the default share, the full path."""
    account = Account(simulate_named("coupons"), tmp_path / "data")
    try:
        account.cycle()  # the backfill; the tables stored
        delete_state(account.con, STATE)  # as after a re-backfill: the history is rebuilt whole
        rebuilt = account.sync()
        customers = account.con.execute(
            "SELECT count(DISTINCT customer) FROM subscriptions"
        ).fetchall()[0][0]
        assert refresh_pending(account.con) == Refreshed("full", rebuilt, customers)
        assert refresh_pending(account.con) == Refreshed("none", 0, 0)
    finally:
        account.close([])


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_the_incremental_refresh_on_a_scenario_equals_a_full_one(name: str, tmp_path: Path) -> None:
    run = _live_run(simulate_named(name), tmp_path / "data", SCENARIO_DAYS)
    _assert_incremental_equals_full(run, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "seed"), SEEDS, ids=[f"{p}-{s}" for p, s in SEEDS])
def test_the_incremental_refresh_on_another_account_equals_a_full_one(
    preset: str, seed: int, tmp_path: Path
) -> None:
    run = _live_run(simulate(seed, SEEDS_UNTIL, preset), tmp_path / "data", DEMO_DAYS)
    _assert_incremental_equals_full(run, tmp_path)


def _stage(con: duckdb.DuckDBPyConnection, objects: dict[str, dict[str, object]]) -> None:
    """Store objects the way an events poll does: staged, noted, flushed in one transaction."""
    staging = Staging()
    prepare(con)
    for table, value in objects.items():
        stage_pages(con, staging, table, [json.dumps({"data": [value]})])
    with transaction(con):
        note_changes(con, staging.objects)
        flush(con, staging, API_VERSION, SYNCED_AT)


def _pending(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in con.execute("SELECT * FROM mrr_pending ORDER BY ALL").fetchall()]


def _usd_by_subscription(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, float]:
    daily = mrr_subscription_daily(con, day, day, MrrSettings())
    return {str(r.subscription): float(r.net_mrr_minor) for r in daily.itertuples()}


def _hand_built(wh: Warehouse) -> None:
    """$100 a month each from 2026-01-05: two subscriptions of customer `cus_a`, one of
    `cus_sub_b`."""
    wh.prices(Price("price_m", "usd", 10_000, "month"))
    wh.subscriptions(*(Sub(s, "active", "2026-01-05", [("price_m", 1)]) for s in SUBS))
    wh.con.execute("UPDATE subscriptions SET customer = 'cus_a' WHERE id IN ('sub_a1', 'sub_a2')")
    for sub in SUBS:
        wh.con.execute(
            "INSERT INTO subscription_item_history VALUES "
            f"('{sub}', 'si_{sub}_0', 'price_m', 1, NULL, '2026-01-05 10:00', NULL, 'test')"
        )
        wh.con.execute(
            "INSERT INTO subscription_status_history VALUES "
            f"('{sub}', 'active', '2026-01-05 10:00', NULL, 'test')"
        )


SUBS = ("sub_a1", "sub_a2", "sub_b")
FEB = int(datetime(2026, 2, 1, tzinfo=UTC).timestamp())


def _coupon(percent_off: float) -> dict[str, object]:
    return {
        "id": "co_off", "object": "coupon", "created": FEB, "duration": "forever",
        "percent_off": percent_off, "valid": True,
    }  # fmt: skip


def test_a_customers_discount_coupon_or_a_price_redoes_the_subscriptions_they_apply_to(
    tmp_path: Path,
) -> None:
    """What the MRR reads beside the history, stored by a poll, puts the subscriptions it
    changes in `mrr_pending` (a customer's discount: all of the customer's), and the
    incremental refresh then equals a full one."""
    wh = Warehouse.create(tmp_path / "w.duckdb")
    _hand_built(wh)
    assert refresh_pending(wh.con).mode == "full"  # nothing stored yet
    discount = {
        "id": "di_a", "object": "discount", "source": {"type": "coupon", "coupon": "co_off"},
        "customer": "cus_a", "subscription": None, "start": FEB, "end": None,
    }  # fmt: skip
    price = {
        "id": "price_m", "object": "price", "created": FEB, "product": "prod_test",
        "currency": "usd", "unit_amount": 20_000, "billing_scheme": "per_unit",
        "type": "recurring", "active": True,
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
    }  # fmt: skip
    steps = [
        ({"coupons": _coupon(50.0), "discounts": discount}, ["sub_a1", "sub_a2"], 1, 5_000.0),
        ({"coupons": _coupon(25.0)}, ["sub_a1", "sub_a2"], 1, 7_500.0),
        ({"prices": price}, list(SUBS), 2, 15_000.0),
    ]
    for objects, pending, customers, discounted in steps:
        _stage(wh.con, objects)
        assert _pending(wh.con) == pending
        redone = refresh_pending(wh.con, full_share=1.0)
        assert redone == Refreshed("incremental", len(pending), customers)
        assert _usd_by_subscription(wh.con, date(2026, 2, 10))["sub_a2"] == discounted
    assert _usd_by_subscription(wh.con, date(2026, 1, 10)) == dict.fromkeys(SUBS, 20_000.0)
    wh.con.close()
    run = Run(wh.path, [], date(2026, 2, 10))
    assert _differences(run, tmp_path / "full.duckdb") == dict.fromkeys(STORED, 0)


def test_more_pending_than_the_full_share_refreshes_everything_and_up_to_it_the_units(
    tmp_path: Path,
) -> None:
    """The rule `FULL_SHARE` sets: a refresh is full when more than that share of the
    subscriptions is pending, incremental at or below it (2 of 3 here: above the default)."""
    wh = Warehouse.create(tmp_path / "w.duckdb")
    _hand_built(wh)
    refresh_pending(wh.con)
    assert 2 / len(SUBS) > FULL_SHARE
    _stage(wh.con, {"coupons": _coupon(50.0)})
    _stage(wh.con, {"discounts": {
        "id": "di_a", "object": "discount", "source": {"type": "coupon", "coupon": "co_off"},
        "customer": "cus_a", "subscription": None, "start": FEB, "end": None,
    }})  # fmt: skip
    assert _pending(wh.con) == ["sub_a1", "sub_a2"]
    assert refresh_pending(wh.con, full_share=2 / len(SUBS)) == Refreshed("incremental", 2, 1)
    _stage(wh.con, {"coupons": _coupon(25.0)})
    assert _pending(wh.con) == ["sub_a1", "sub_a2"]
    assert refresh_pending(wh.con) == Refreshed("full", len(SUBS), 2)
    assert _pending(wh.con) == []
    wh.con.close()

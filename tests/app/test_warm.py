"""The warmer: what pages computed on one snapshot is computed for the next one in the
background, so the first open after a sync finds it cached. Real DuckDB files published with
the sync's own `publish`, and the dashboard's own cache (`ui.call`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from app import ui, warm
from sync.freshness import Growing
from sync.snapshots import SnapshotReader, freshness_key, publish, publish_changed

computed: list[tuple[str, int]] = []  # (what, the rows it saw), appended by each computation


def charges_over(con: duckdb.DuckDBPyConnection, amount: int) -> int:
    """A metric as pages call it: a query on the snapshot's connection."""
    (count,) = con.execute("SELECT count(*) FROM charges WHERE amount > ?", [amount]).fetchone()
    computed.append(("charges_over", int(count)))
    return int(count)


def broken(con: duckdb.DuckDBPyConnection) -> int:
    computed.append(("broken", 0))
    raise RuntimeError("this metric fails")


class Account:
    """A master file with a charges table, published as the service does."""

    def __init__(self, data_dir: Path) -> None:
        self.master_path = data_dir / "master.duckdb"
        self.snapshot_dir = data_dir / "snapshots"
        self.con = duckdb.connect(str(self.master_path))
        self.con.execute("CREATE TABLE charges (id VARCHAR, amount BIGINT)")
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def charge(self, amount: int) -> None:
        self.con.execute("INSERT INTO charges VALUES (?, ?)", [f"ch_{amount}", amount])

    def publish(self) -> str:
        self.now += timedelta(minutes=5)
        return publish(self.con, self.master_path, self.snapshot_dir, self.now).name

    def page_call(self, func: object, *args: object) -> object:
        """What a page does: open the current snapshot, `ui.call` on it."""
        reader = SnapshotReader(self.snapshot_dir)
        try:
            con = reader.connection()
            assert con is not None and reader.name is not None
            return ui.call(reader.name, func, con, *args)  # type: ignore[arg-type]
        finally:
            reader.close()


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    computed.clear()
    ui._cached_call.clear()
    account = Account(tmp_path)
    try:
        yield account
    finally:
        account.con.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def warmer_for(account: Account, clock: Clock) -> tuple[warm.Warmer, warm.Recorder]:
    recorder = warm.Recorder(clock)
    return warm.Warmer(account.snapshot_dir, recorder, ui._cached_call), recorder


def record(recorder: warm.Recorder, func: object, *args: object) -> None:
    key = f"{func.__module__}.{func.__qualname__}"  # type: ignore[attr-defined]
    recorder.record(warm.Call(key, func, args, ()))  # type: ignore[arg-type]


def test_a_new_snapshot_gets_the_recent_calls_computed_and_the_next_page_open_is_a_cache_hit(
    account: Account,
) -> None:
    account.charge(500)
    account.publish()
    assert account.page_call(charges_over, 100) == 1  # the page, on the first snapshot
    warmer, recorder = warmer_for(account, Clock())
    record(recorder, charges_over, 100)
    account.charge(700)
    second = account.publish()

    assert warmer.step() == 1
    assert warmer.warmed == second
    assert computed == [("charges_over", 1), ("charges_over", 2)]  # the new snapshot's rows
    assert account.page_call(charges_over, 100) == 2
    assert computed == [("charges_over", 1), ("charges_over", 2)]  # served from the cache
    assert warmer.step() == 0  # the same snapshot is not warmed twice


def test_the_ui_records_every_page_call_with_its_arguments(account: Account) -> None:
    account.charge(500)
    account.publish()
    account.page_call(charges_over, 300)
    keys = [(call.key, call.args) for call in ui._RECORDER.recent()]
    assert (f"{__name__}.charges_over", (300,)) in keys


def test_calls_older_than_an_hour_are_not_recomputed(account: Account) -> None:
    account.charge(500)
    clock = Clock()
    warmer, recorder = warmer_for(account, clock)
    record(recorder, charges_over, 100)
    clock.now += warm.RECENT + 1
    record(recorder, charges_over, 200)
    account.publish()

    assert warmer.step() == 1
    assert computed == [("charges_over", 1)]
    assert [call.args for call in recorder.recent()] == [(200,)]


def test_a_failing_call_is_skipped_and_the_others_are_still_computed(account: Account) -> None:
    account.charge(500)
    clock = Clock()
    warmer, recorder = warmer_for(account, clock)
    record(recorder, charges_over, 100)
    clock.now += 1
    record(recorder, broken)  # the most recent: computed first, and fails
    account.publish()

    assert warmer.step() == 1
    assert computed == [("broken", 0), ("charges_over", 1)]


def test_arguments_that_cannot_be_a_cache_key_are_not_recorded() -> None:
    recorder = warm.Recorder(Clock())
    record(recorder, charges_over, [100])  # a list: unhashable
    record(recorder, charges_over, 100)
    assert [call.args for call in recorder.recent()] == [(100,)]


def test_before_anything_is_published_the_warmer_does_nothing(account: Account) -> None:
    warmer, recorder = warmer_for(account, Clock())
    record(recorder, charges_over, 100)
    assert warmer.step() == 0
    assert warmer.warmed is None


def sync_runs_seen(con: duckdb.DuckDBPyConnection) -> int:
    """A call that follows every cycle: the runs, which the status file carries."""
    (count,) = con.execute("SELECT count(*) FROM sync_runs").fetchone()
    computed.append(("sync_runs_seen", int(count)))
    return int(count)


def test_a_cycle_that_publishes_nothing_rewarms_only_the_calls_that_follow_it(
    account: Account,
) -> None:
    """A new status file (`sync.freshness`) is a new freshness key: the fresh calls are
    computed against it, the data's calls stay cached under the snapshot's name."""
    account.con.execute("CREATE TABLE sync_runs (run_id VARCHAR, started_at TIMESTAMP)")
    account.charge(500)
    status = {"whole": (), "growing": (Growing("sync_runs", "run_id", "started_at"),)}

    def cycle(changed: bool) -> None:
        account.now += timedelta(minutes=5)
        account.con.execute(
            "INSERT INTO sync_runs VALUES (?, ?)",
            [account.now.isoformat(), account.now.replace(tzinfo=None)],
        )
        publish_changed(
            account.con, account.master_path, account.snapshot_dir, account.now,
            changed=changed, watched=(), **status,
        )  # fmt: skip

    cycle(changed=True)
    warmer, recorder = warmer_for(account, Clock())
    warmer.warmed = freshness_key(account.snapshot_dir)
    record(recorder, charges_over, 100)
    key = f"{sync_runs_seen.__module__}.{sync_runs_seen.__qualname__}"
    recorder.record(warm.Call(key, sync_runs_seen, (), (), fresh=True))

    cycle(changed=False)  # nothing new: the status file only
    assert warmer.step() == 1
    assert computed == [("sync_runs_seen", 2)]  # the overlay's runs, not the snapshot's one
    reader = SnapshotReader(account.snapshot_dir)
    con = reader.connection()
    assert con is not None and reader.name is not None
    assert ui.call(reader.freshness, sync_runs_seen, con) == 2  # a page's, from the cache
    reader.close()
    assert computed == [("sync_runs_seen", 2)]
    assert warmer.step() == 0

    cycle(changed=True)  # a new snapshot: everything
    assert warmer.step() == 2
    assert sorted(computed[1:]) == [("charges_over", 1), ("sync_runs_seen", 3)]

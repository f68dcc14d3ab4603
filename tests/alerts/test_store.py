"""Alert state, transitions and the outbox in a real DuckDB file; silences in their own file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from alerts.model import AlertState, Notification, Reading, Transition
from alerts.store import (
    SilenceStore,
    SilenceStoreError,
    enqueue,
    ensure_schema,
    history,
    load_states,
    outbox,
    outbox_counts,
    record_cycle,
)
from sync.snapshots import SnapshotReader, publish

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
MACHINE = datetime(2026, 11, 20, 9, 0, 5, tzinfo=UTC)
PAYLOAD = {"text": "CRITICAL payment_success firing", "blocks": []}


def firing() -> AlertState:
    return AlertState(
        "payment_success", "", "firing", since=AT, level="critical", fired_at=AT, value=0.88
    )


def transition(kind: str = "firing", notify: bool = True) -> Transition:
    reading = Reading(
        "payment_success",
        AT,
        0.88,
        label="Payment success rate",
        driver="Visa in BR",
        detail="Customer <!channel>",
    )
    return Transition(
        "payment_success",
        "",
        kind,  # type: ignore[arg-type]
        AT,
        "pending",
        "firing",
        "critical",
        0.88,
        0.9,
        notify,
        duration=timedelta(hours=2, minutes=10),
        reading=reading,
    )


def cycle(con: duckdb.DuckDBPyConnection, key: str = "n1") -> bool:
    change = transition()
    pending = transition("pending", notify=False)
    states = {("payment_success", ""): firing()}
    return record_cycle(
        con, states, [pending, change], Notification(key, AT, (change,)), PAYLOAD, None, MACHINE
    )


def test_states_come_back_as_they_were_stored(master: duckdb.DuckDBPyConnection) -> None:
    states = {
        ("payment_success", ""): firing(),
        ("dispute_due", "dp_1"): AlertState("dispute_due", "dp_1", "ok", AT - timedelta(days=2)),
    }
    record_cycle(master, states, [], None, None, None, MACHINE)
    assert load_states(master) == states


def test_a_cycle_replaces_every_state(master: duckdb.DuckDBPyConnection) -> None:
    record_cycle(master, {("a", ""): AlertState("a", "", "ok", AT)}, [], None, None, None, MACHINE)
    record_cycle(master, [AlertState("b", "x", "pending", AT)], [], None, None, None, MACHINE)
    assert list(load_states(master)) == [("b", "x")]


def test_a_notification_recorded_twice_is_queued_once(master: duckdb.DuckDBPyConnection) -> None:
    assert cycle(master) is True
    assert cycle(master) is False
    rows = outbox(master)
    assert [(r.key, r.status, r.attempts, r.payload, r.summary) for r in rows] == [
        ("n1", "queued", 0, PAYLOAD, "CRITICAL payment_success firing")
    ]
    assert (rows[0].created, rows[0].recorded, rows[0].next_attempt) == (AT, MACHINE, MACHINE)
    # the notifying transition is not appended again; the pending one is every time
    assert sorted((h.kind, h.notification) for h in history(master)) == [
        ("firing", "n1"),
        ("pending", None),
        ("pending", None),
    ]


def test_transitions_keep_their_reading_texts(master: duckdb.DuckDBPyConnection) -> None:
    cycle(master)
    stored = next(h for h in history(master) if h.kind == "firing")
    assert (stored.rule, stored.at, stored.before, stored.after, stored.level) == (
        "payment_success",
        AT,
        "pending",
        "firing",
        "critical",
    )
    assert (stored.value, stored.threshold, stored.notify, stored.muted_by) == (
        0.88,
        0.9,
        True,
        None,
    )
    assert stored.duration == timedelta(hours=2, minutes=10)
    assert (stored.label, stored.driver, stored.detail) == (
        "Payment success rate",
        "Visa in BR",
        "Customer <!channel>",
    )


def test_a_failed_cycle_records_nothing(master: duckdb.DuckDBPyConnection) -> None:
    naive = AlertState("a", "", "ok", datetime(2026, 11, 20, 9, 0))
    with pytest.raises(ValueError, match="naive"):
        record_cycle(master, [firing(), naive], [transition()], None, None, None, MACHINE)
    assert load_states(master) == {} and history(master) == []


def test_outbox_counts_name_every_status(master: duckdb.DuckDBPyConnection) -> None:
    assert outbox_counts(master) == {"queued": 0, "sent": 0, "failed": 0}
    cycle(master, "n1")
    enqueue(master, key="digest-2026-47", created=AT, recorded=MACHINE, payload=PAYLOAD, summary="")
    assert outbox_counts(master) == {"queued": 2, "sent": 0, "failed": 0}
    assert [r.key for r in outbox(master, "queued")] == ["n1", "digest-2026-47"]


def test_a_snapshot_from_before_alerts_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path)).close()
    con = duckdb.connect(str(path), read_only=True)
    assert (load_states(con), history(con), outbox(con)) == ({}, [], [])
    assert outbox_counts(con) == {"queued": 0, "sent": 0, "failed": 0}


def test_times_are_stored_as_utc_whatever_duckdbs_time_zone(
    master: duckdb.DuckDBPyConnection,
) -> None:
    master.execute("SET TimeZone = 'America/New_York'")
    cycle(master)
    stored = master.execute("SELECT since, updated FROM alert_state").fetchone()
    assert stored == (datetime(2026, 11, 20, 9, 0), datetime(2026, 11, 20, 9, 0, 5))
    assert load_states(master)[("payment_success", "")].since == AT


def test_times_are_utc_whatever_the_machines_tz(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import time, duckdb
        from datetime import datetime, timezone, timedelta
        time.tzset()
        from alerts.model import AlertState
        from alerts.store import ensure_schema, load_states, record_cycle
        at = datetime(2026, 11, 20, 9, 0, tzinfo=timezone(timedelta(hours=5)))
        con = duckdb.connect({str(tmp_path / "tz.duckdb")!r})
        ensure_schema(con)
        record_cycle(con, [AlertState("r", "", "ok", at)], [], None, None, None, at)
        print(con.execute("SELECT since FROM alert_state").fetchone()[0].isoformat())
        print(load_states(con)[("r", "")].since.isoformat())
        """
    )
    env = {**os.environ, "TZ": "America/New_York"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["2026-11-20T04:00:00", "2026-11-20T04:00:00+00:00"]


def test_a_published_snapshot_carries_the_alert_tables(
    master: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    cycle(master)
    reader = SnapshotReader(tmp_path / "snapshots")
    publish(master, tmp_path / "master.duckdb", tmp_path / "snapshots", MACHINE)
    snapshot = reader.connection()
    assert snapshot is not None
    try:
        assert load_states(snapshot) == load_states(master)
        assert outbox(snapshot) == outbox(master)
        assert history(snapshot) == history(master)
    finally:
        reader.close()


def test_ensure_schema_can_run_again(master: duckdb.DuckDBPyConnection) -> None:
    cycle(master)
    ensure_schema(master)
    assert len(outbox(master)) == 1


# silences and acknowledgements


def test_a_silence_is_active_from_its_creation_until_it_ends(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path / "silences.sqlite")
    made = store.add(
        "payment_success", until=AT + timedelta(hours=2), reason="bank outage", created=AT
    )
    assert made.id.startswith("sil_")
    assert store.active(AT - timedelta(seconds=1)) == ()
    assert store.active(AT) == (made,)
    assert store.active(AT + timedelta(hours=2) - timedelta(microseconds=1)) == (made,)
    assert store.active(AT + timedelta(hours=2)) == ()
    assert store.all() == (made,)


def test_another_store_on_the_same_file_sees_it(tmp_path: Path) -> None:
    cli = SilenceStore(tmp_path / "silences.sqlite")
    service = SilenceStore(tmp_path / "silences.sqlite")
    made = cli.add(
        "dispute_due",
        segment="dp_1",
        until=AT + timedelta(days=1),
        reason="evidence sent",
        created=AT,
        created_by="ana",
    )
    assert service.active(AT + timedelta(hours=1)) == (made,)
    assert made.covers("dispute_due", "dp_1", AT) and not made.covers("dispute_due", "dp_2", AT)


def test_expiring_a_silence_ends_it_then(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path / "silences.sqlite")
    made = store.add("churn", until=AT + timedelta(days=1), reason="known", created=AT)
    ended = store.expire(made.id, AT + timedelta(hours=1))
    assert ended.until == AT + timedelta(hours=1)
    assert store.active(AT + timedelta(minutes=30)) == (ended,)
    assert store.active(AT + timedelta(hours=1)) == ()
    with pytest.raises(SilenceStoreError, match="no silence 'sil_nope'"):
        store.expire("sil_nope", AT)


@pytest.mark.parametrize(
    ("reason", "until", "message"),
    [
        ("", AT + timedelta(hours=1), "reason"),
        ("   ", AT + timedelta(hours=1), "reason"),
        ("fine", AT, "end after it starts"),
    ],
)
def test_a_silence_needs_a_reason_and_an_end_after_its_start(
    tmp_path: Path, reason: str, until: datetime, message: str
) -> None:
    store = SilenceStore(tmp_path / "silences.sqlite")
    with pytest.raises(ValueError, match=message):
        store.add("churn", until=until, reason=reason, created=AT)
    assert store.all() == ()


def test_acknowledgements_are_kept_in_order(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path / "silences.sqlite")
    late = store.acknowledge("payment_success", at=AT + timedelta(minutes=5), by="bo", note="")
    first = store.acknowledge("payment_success", "", at=AT, by="ana", note="on it")
    assert store.acknowledgements() == (first, late)
    assert (first.rule, first.segment, first.at, first.by, first.note) == (
        "payment_success",
        "",
        AT,
        "ana",
        "on it",
    )


def test_the_silences_file_is_sqlite_in_wal_mode_and_alone(tmp_path: Path) -> None:
    path = tmp_path / "data" / "silences.sqlite"
    SilenceStore(path).add("churn", until=AT + timedelta(hours=1), reason="r", created=AT)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert not [p for p in path.parent.iterdir() if p.suffix == ".duckdb"]


def test_a_corrupt_silences_file_is_one_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "silences.sqlite"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    with pytest.raises(SilenceStoreError, match=str(path)):
        SilenceStore(path).active(AT)


def test_an_unreadable_silences_file_is_one_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "silences.sqlite"
    path.mkdir()  # a directory where the file should be: sqlite cannot open it
    with pytest.raises(SilenceStoreError, match=str(path)):
        SilenceStore(path).all()

"""The backfill's writer: flushes staged on one thread and committed on another, in order."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from sync.fetch import FetchedPage
from sync.ingest import PROBE_ROWS
from sync.store import open_warehouse
from sync.writer import AREAS, Writer
from tests.sync.test_ingest import _body, _charge, _ingest, _item, _subscription

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _page(resource: str, body: str) -> FetchedPage:
    return FetchedPage(resource, body, 1, False, None, None, None)


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    columns = [
        name
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND column_name != 'synced_at' ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]
    quoted = ", ".join(f'"{name}"' for name in columns)
    return con.execute(f"SELECT {quoted} FROM {table} ORDER BY id").fetchall()


BATCHES = [
    [("charges", _body(_charge("ch_1", 100), _charge("ch_2", 200)))],
    [("subscriptions", _body(_subscription([_item("si_1", 2), _item("si_2", 1)])))],
    [("charges", _body(_charge("ch_1", 150, "failed"))), ("charges", _body(_charge("ch_3", 3)))],
    [("subscriptions", _body(_subscription([_item("si_2", 5)])))],
    [("charges", _body(_charge("ch_2", 250)))],
]


# PROBE_ROWS: these small tables are searched for stored ids; 0: none is, so a stored id fails the
# plain insert and the flush is written again, searching (ch_1, sub_1 come twice)
@pytest.mark.parametrize("probe_rows", [PROBE_ROWS, 0], ids=["probed", "optimistic"])
def test_pipelined_flushes_write_what_ingesting_them_one_by_one_writes(
    tmp_path: Path, probe_rows: int
) -> None:
    one_by_one = open_warehouse(tmp_path / "one_by_one.duckdb")
    for batch in BATCHES:
        for table, body in batch:
            _ingest(one_by_one, table, body)
    con = open_warehouse(tmp_path / "pipelined.duckdb")
    writer = Writer(con, lambda: NOW, lambda: None, probe_rows)
    try:
        for batch in BATCHES:
            for table, body in batch:
                writer.buffer(_page(table, body))
            writer.flush([])
        writer.collect()
    finally:
        writer.close()
    # later flushes win (ch_1 failed at 150, ch_2 250; si_1 left with its replaced list)
    assert con.execute("SELECT id, amount, status FROM charges ORDER BY id").fetchall() == [
        ("ch_1", 150, "failed"),
        ("ch_2", 250, "succeeded"),
        ("ch_3", 3, "succeeded"),
    ]
    for table in ("charges", "subscriptions", "subscription_items", "discounts"):
        assert _rows(con, table) == _rows(one_by_one, table), table
    assert writer.written == {
        "charges": 5,
        "subscriptions": 2,
        "subscription_items": 3,
        "discounts": 2,
    }


def test_a_flush_that_cannot_be_staged_fails_and_leaves_nothing_for_the_next(
    tmp_path: Path,
) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    writer = Writer(con, lambda: NOW, lambda: None)
    try:
        writer.buffer(_page("charges", _body(_charge("ch_1", 100))))
        writer.buffer(_page("refunds", '{"object": "list", "data": [{"id": '))  # cut short
        writer.flush([])
        with pytest.raises(duckdb.Error):
            writer.collect()
        # every stage area in turn, and the failed one again: it must have been emptied
        charges = [f"ch_{n}" for n in range(2, len(AREAS) + 3)]
        for charge in charges:
            writer.buffer(_page("charges", _body(_charge(charge, 7))))
            writer.flush([])
        writer.collect()
    finally:
        writer.close()
    assert con.execute("SELECT id FROM charges ORDER BY id").fetchall() == [(c,) for c in charges]
    assert writer.written == {"charges": len(charges)}


def test_the_page_bytes_in_the_writer_stay_under_its_cap(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    pages = [_page("charges", _body(_charge(f"ch_{n}", n))) for n in range(len(AREAS) + 2)]
    size = len(pages[0].body)  # all the same size
    writer = Writer(con, lambda: NOW, lambda: None, in_flight_bytes=2 * size)
    try:
        for page in pages:
            writer.buffer(page)
            writer.flush([])
            assert writer.in_flight <= 2 * size  # a third flush waits for the oldest commit
        writer.collect()
        assert writer.in_flight == 0
        # a flush bigger than the cap still goes, alone
        writer.buffer(_page("charges", _body(*(_charge(f"ch_big_{n}", n) for n in range(3)))))
        writer.flush([])
        assert writer.in_flight > 2 * size
        writer.collect()
    finally:
        writer.close()
    assert writer.written == {"charges": len(pages) + 3}


def test_pages_are_spooled_beside_the_warehouse_until_staged(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    spool = tmp_path / "master.duckdb.pages"
    spool.mkdir()
    (spool / "7.json").write_text('{"data": [')  # left by a killed writer
    writer = Writer(con, lambda: NOW, lambda: None)
    try:
        assert list(spool.iterdir()) == []
        writer.buffer(_page("charges", _body(_charge("ch_1", 100))))
        assert len(list(spool.iterdir())) == 1
        writer.flush([])
        writer.collect()
        assert list(spool.iterdir()) == []
        writer.buffer(_page("refunds", '{"object": "list", "data": [{"id": '))  # cut short
        writer.flush([])
        with pytest.raises(duckdb.Error):
            writer.collect()
        assert list(spool.iterdir()) == []  # a flush that failed leaves no file either
    finally:
        writer.close()
    assert not spool.exists()
    assert con.execute("SELECT id FROM charges").fetchall() == [("ch_1",)]


def _threshold(con: duckdb.DuckDBPyConnection) -> str:
    (threshold,) = con.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0]
    return str(threshold)


def test_a_big_file_checkpoints_rarely_while_the_writer_writes(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    small = _threshold(con)
    writer = Writer(con, lambda: NOW, lambda: None, bulk_from_bytes=0)  # any file is "big"
    try:
        writer.buffer(_page("charges", _body(_charge("ch_1", 100))))
        writer.flush([])
        writer.collect()
        assert writer.bulk and _threshold(con) == "953.6 MiB"  # 1 GB
    finally:
        writer.close()
    assert not writer.bulk and _threshold(con) == small == "976.5 KiB"  # 1 MB again
    assert con.execute("SELECT id, amount FROM charges").fetchall() == [("ch_1", 100)]


CRASH = """
import os, sys
from datetime import UTC, datetime
from pathlib import Path
from sync.store import open_warehouse
from sync.writer import Writer
from tests.sync.test_writer import BATCHES, _page
con = open_warehouse(Path(sys.argv[1]))
writer = Writer(con, lambda: datetime(2026, 11, 27, tzinfo=UTC), lambda: None, bulk_from_bytes=0)
for batch in BATCHES:
    for table, body in batch:
        writer.buffer(_page(table, body))
    writer.flush([])
writer.collect()
os._exit(9)  # killed: nothing closed, nothing checkpointed
"""


def test_what_waits_in_the_wal_survives_a_crash(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", CRASH, str(tmp_path / "master.duckdb")],
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert (tmp_path / "master.duckdb.wal").stat().st_size > 0
    con = open_warehouse(tmp_path / "master.duckdb")  # replays the WAL under the memory limit
    (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchall()[0]
    assert limit == "488.2 MiB"  # 512 MB (sync.store.BACKFILL_MEMORY)
    one_by_one = open_warehouse(tmp_path / "one_by_one.duckdb")
    for batch in BATCHES:
        for table, body in batch:
            _ingest(one_by_one, table, body)
    for table in ("charges", "subscriptions", "subscription_items", "discounts"):
        assert _rows(con, table) == _rows(one_by_one, table), table

"""The sync's public face (`sync/__init__.py`): what the application imports, and the rules that
moved behind it from `app/` (the workers a resource may use, opening the master)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

import sync
from sync import Options, backfill_finished
from sync.options import windows_for
from sync.store import BACKFILL, open_warehouse, set_state

ROOT = Path(__file__).resolve().parents[2]


def _child(code: str, *args: str) -> str:
    """What a fresh interpreter running `code` prints (nothing imported before it)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_every_exported_name_is_what_its_module_defines_not_a_module() -> None:
    for name in sync.__all__:
        value = getattr(sync, name)
        assert not isinstance(value, ModuleType), name
        if name in sync.LAZY:
            assert value is getattr(importlib.import_module(sync.LAZY[name]), name), name
    assert sorted(sync.__all__) == sorted([*sync.LAZY, "scrub", "scrub_handlers"])


def test_scrub_stays_the_function_when_its_module_is_imported_after_the_package() -> None:
    printed = _child(
        """
        import sync
        import sync.engine, sync.scrub
        from sync import scrub
        print(scrub("key " + "sk_" + "live_abc123"))  # assembled: no key-shaped literal
        """
    )
    assert printed == "key [redacted]"


def test_reading_a_snapshot_through_sync_does_not_load_the_stripe_sdk() -> None:
    printed = _child(
        """
        import sys
        from sync import SnapshotReader, account_now, current_snapshot, last_heard, latest_runs
        print(sorted(m for m in ("stripe", "sync.engine", "sync.client") if m in sys.modules))
        """
    )
    assert printed == "[]"


@pytest.mark.parametrize(
    ("workers", "windows"), [(48, 12), (64, 16), (9, 2), (8, 2), (4, 2), (1, 2)]
)
def test_a_resource_may_use_a_quarter_of_the_workers_and_at_least_two_windows(
    workers: int, windows: int
) -> None:
    options = Options.for_workers(workers, events_overlap_seconds=60)
    assert (options.workers, options.windows_per_resource) == (workers, windows)
    assert options.events_overlap_seconds == 60
    assert windows_for(workers) == windows


def test_the_default_options_follow_the_quarter_rule() -> None:
    assert (Options().workers, Options().windows_per_resource) == (48, 12)
    assert Options.for_workers(48) == Options()


def test_opening_a_master_another_process_holds_is_refused_in_one_line(tmp_path: Path) -> None:
    master = tmp_path / "master.duckdb"
    held = open_warehouse(master)  # this process: the other writer
    try:
        printed = _child(
            """
            import sys
            from pathlib import Path
            from sync import WarehouseLocked, open_master
            try:
                open_master(Path(sys.argv[1])).close()
                print("opened")
            except WarehouseLocked as exc:
                print("refused:", exc)
            """,
            str(master),
        )
    finally:
        held.close()
    assert printed == (
        f"refused: {master} is in use by another paylens process (is `paylens run` going?); "
        "only one process may write the warehouse"
    )


def test_backfill_finished_is_when_the_held_backfill_finished(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    try:
        assert backfill_finished(con) is None
        set_state(con, BACKFILL, {"status": "running"}, datetime(2026, 1, 1))
        assert backfill_finished(con) is None
        done = {"status": "done", "finished": 1_767_225_600}
        set_state(con, BACKFILL, done, datetime(2026, 1, 1))
        assert backfill_finished(con) == datetime(2026, 1, 1, tzinfo=UTC)
    finally:
        con.close()

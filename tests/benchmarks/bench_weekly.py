"""The weekly review: computing it (`app.weekly.review_for`) and exporting it (`html`,
`pdf_bytes`), on a published snapshot of `demo` (or `large`).

Issue 16's targets on `large`: the export ≤ 10 s (the page's ≤ 1 s warm is bench_pages', which
opens `/weekly` with every other page). The warehouse is bench_metrics' (the sync's own ingest of
the simulation, no HTTP; BENCH_METRICS_KEEP reuses a kept one), its history rebuilt, its MRR
tables stored and a finished sync recorded at the simulation's now (bench_pages' record), so the
review's default week is the last complete one before that day. Cold: the first review on a
newly opened snapshot connection; warm: the best of WARM_RUNS more. The PDF is printed by
Debian's chromium. BENCH_WEEKLY_PRESET picks the preset: `demo` by default, `large` for the
targets' figures.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from app.settings import Settings
from app.weekly import review_for
from app.weekly_export import find_chromium, html, pdf_bytes
from metrics.refresh import refresh
from sync.history import rebuild_history
from sync.snapshots import SnapshotReader, publish

# bench_metrics' warehouse builder and bench_pages' sync record, shared on purpose
from tests.benchmarks.bench_metrics import _warehouse
from tests.benchmarks.bench_pages import _record_sync
from tests.benchmarks.common import Row, timed

ROOT = Path(__file__).resolve().parents[2]
WARM_RUNS = 3
BASE_URL = "http://127.0.0.1:8501"


def _preset() -> str:
    return os.environ.get("BENCH_WEEKLY_PRESET", "demo")


def rows() -> list[Row]:
    preset = _preset()
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(
            Settings(), data_dir=Path(tmp), fx_rates_file=ROOT / "docs/examples/fx_rates.csv"
        )
        found = [_published(preset, settings)]
        found += _timed_rows(preset, settings)
    return found


def _published(preset: str, settings: Settings) -> Row:
    """The warehouse, its history and MRR tables, a finished sync, the snapshot: the setup row."""
    kept = os.environ.get("BENCH_METRICS_KEEP")
    master, now, setup = _warehouse(preset, settings.master_path, Path(kept) if kept else None)
    rebuild_history(master, now)
    refresh(master)
    machine_now = datetime.now(UTC)
    _record_sync(master, now, machine_now)
    publish(master, settings.master_path, settings.snapshot_dir, machine_now)
    master.close()
    return Row(f"weekly: warehouse `{preset}`", setup[0], f"{setup[1]}; published")


def _timed_rows(preset: str, settings: Settings) -> list[Row]:
    """The review cold and warm, then its HTML and its PDF."""
    reader = SnapshotReader(settings.snapshot_dir)
    con = reader.connection()
    assert con is not None
    try:
        review, cold = timed(lambda: review_for(settings, con))
        warm = min(timed(lambda: review_for(settings, con))[1] for _ in range(WARM_RUNS))
    finally:
        reader.close()
    document, seconds = timed(lambda: html(review, base_url=BASE_URL))
    found = [
        Row(
            f"weekly: review of {review.week}, warm / cold",
            f"{warm * 1000:.0f} / {cold * 1000:.0f} ms",
            f"`{preset}`; {len(review.figures)} figures, {len(review.failures)} failure rows, "
            f"{len(review.movers)} movers",
        ),
        Row(
            "weekly: export HTML",
            f"{seconds * 1000:.0f} ms",
            f"{len(document.encode()) / 1e6:.1f} MB, plotly.js inlined; target ≤ 10 s",
        ),
    ]
    if find_chromium() is None:
        return [*found, Row("weekly: export PDF", "skipped", "no chromium on PATH")]
    pdf, seconds = timed(lambda: pdf_bytes(review, base_url=BASE_URL))
    notes = f"{len(pdf) / 1e3:.0f} kB, headless chromium; target ≤ 10 s"
    return [*found, Row("weekly: export PDF", f"{seconds:.2f} s", notes)]

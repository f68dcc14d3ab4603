"""Metrics figures: the refresh (history rebuild, stored MRR tables) and each dashboard query,
warm and cold, on a published snapshot of `large` (or `demo`).

SPEC §9: on `large` the full metrics refresh ≤ 3 s, each dashboard query ≤ 200 ms warm, a page
≤ 1 s warm and ≤ 3 s cold. The warehouse is built without HTTP: the simulation's objects are fed
as list-page bodies through the sync's own ingest (`sync.ingest`, as `bench_sync.local_ingest`
does), with every nested list complete and discounts expanded as the backfill asks for them, so
it holds what a full backfill stores; then the history is rebuilt and the MRR tables stored
(`metrics.refresh`), timed with the service's connection settings, and a snapshot published.
The simulation is freed before anything is timed. BENCH_METRICS_PRESET picks the preset: `demo`
by default (seconds), `BENCH_METRICS_PRESET=large make bench ONLY=metrics` for the SPEC's
figures (~8 minutes, ~9 GB).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from app.report import build_report, churn_settings
from app.settings import Settings
from metrics.churn import churn_monthly
from metrics.disputes import dispute_summary
from metrics.movements import mrr_movements
from metrics.mrr import mrr_currency_daily
from metrics.payments import payment_success_breakdown, payment_success_daily
from metrics.refresh import refresh
from metrics.retention import cohort_retention
from metrics.webhooks import webhook_summary
from sandbox.sim import Simulation, simulate
from sync.history import BATCH, rebuild_history
from sync.ingest import Staging, flush, stage_pages
from sync.snapshots import SnapshotReader, publish
from sync.store import REBUILD_MEMORY, open_warehouse, transaction
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)
YEAR_AGO = UNTIL - timedelta(days=365)
MONTH_AGO = UNTIL - timedelta(days=30)
PAGE = 100  # objects per list page, as the backfill asks
FLUSH_PAGES = 50
# (resource, its nested list attribute and where the simulation keeps the complete lists)
RESOURCES: tuple[str, ...] = (
    "products",
    "prices",
    "coupons",
    "customers",
    "subscriptions",
    "invoices",
)
RESOURCES += ("charges", "refunds", "disputes", "webhook_endpoints", "events")
NESTED = {"subscriptions": "items", "invoices": "lines"}
WARM_RUNS = 3  # a warm figure is the best of these runs after the cold one


def queries(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, Callable[[], Any]]:
    """What the dashboard pages run, by name."""
    definition = churn_settings(settings)
    return {
        "report (every key)": lambda: build_report(con, settings, UNTIL),
        "MRR per currency per day, 1 year": lambda: mrr_currency_daily(
            con, YEAR_AGO, UNTIL, definition
        ),
        "MRR movements per month, 1 year": lambda: mrr_movements(con, YEAR_AGO, UNTIL, definition),
        "churn per month, 1 year": lambda: churn_monthly(con, YEAR_AGO, UNTIL, definition),
        "cohort retention": lambda: cohort_retention(con, UNTIL, definition),
        "payment success per day, 90 days": lambda: payment_success_daily(
            con, UNTIL - timedelta(days=89), UNTIL
        ),
        "payment breakdowns, 30 days": lambda: payment_success_breakdown(con, MONTH_AGO, UNTIL),
        "disputes": lambda: dispute_summary(con, MONTH_AGO, UNTIL),
        "webhooks": lambda: webhook_summary(con, MONTH_AGO, UNTIL),
    }


def ingest(sim: Simulation, con: duckdb.DuckDBPyConnection) -> int:
    """Every object a full backfill stores, through the sync's ingest; returns the rows written."""
    written = 0
    for name in RESOURCES:
        pages = list_pages(sim, name)
        while batch := [body for _, body in zip(range(FLUSH_PAGES), pages, strict=False)]:
            staging = Staging()
            stage_pages(con, staging, name, batch)
            with transaction(con):
                written += sum(flush(con, staging, "bench", _now(sim)).values())
    return written


def list_pages(sim: Simulation, name: str) -> Iterator[str]:
    """The list-page bodies of one resource, made one at a time (`large` has millions)."""
    objects = list(sim.resource(name).values())
    if name == "events":  # Stripe serves the last 30 days
        objects = [e for e in objects if e["created"] >= sim.now - 30 * 86_400]
    for start in range(0, len(objects), PAGE):
        page = [_as_backfilled(sim, name, o) for o in objects[start : start + PAGE]]
        yield json.dumps({"object": "list", "data": page, "has_more": True})


def _as_backfilled(sim: Simulation, name: str, obj: dict[str, Any]) -> dict[str, Any]:
    """An object as the backfill ends up storing it: its nested list complete (the backfill
    follows each truncated list) and its discounts expanded (`expand[]=data.discounts`)."""
    attribute = NESTED.get(name)
    if attribute is None:
        return obj
    nested = sim.subscription_items if name == "subscriptions" else sim.invoice_lines
    full = nested.get(obj["id"], obj[attribute]["data"])
    found = {**obj, attribute: {**obj[attribute], "data": full, "has_more": False}}
    found["discounts"] = [
        sim.discounts.get(d, d) if isinstance(d, str) else d for d in obj.get("discounts") or []
    ]
    return found


def _now(sim: Simulation) -> datetime:
    return datetime.fromtimestamp(sim.now, UTC)


def _preset() -> str:
    """`demo` unless BENCH_METRICS_PRESET says `large`: building `large` takes ~8 minutes and
    ~9 GB (the simulation), too long for every `make bench`."""
    return os.environ.get("BENCH_METRICS_PRESET", "demo")


def rows() -> list[Row]:
    preset = _preset()
    found: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = dataclasses.replace(
            Settings(),
            data_dir=Path(tmp),
            fx_rates_file=Path(__file__).resolve().parents[2] / "docs/examples/fx_rates.csv",
        )
        kept = os.environ.get("BENCH_METRICS_KEEP")
        master, now, setup = _warehouse(preset, settings.master_path, Path(kept) if kept else None)
        found.append(Row(f"metrics: warehouse `{preset}`", setup[0], setup[1]))
        _, history = timed(lambda: rebuild_history(master, now))
        _, segments = timed(lambda: refresh(master))
        found += _refresh_rows(master, preset, history, segments)
        publish(master, settings.master_path, settings.snapshot_dir, now)
        master.close()
        found += _query_rows(settings, preset)
    return found


def _warehouse(
    preset: str, path: Path, kept: Path | None
) -> tuple[duckdb.DuckDBPyConnection, datetime, tuple[str, str]]:
    """The ingested warehouse at `path` (opened with the service's connection settings), its
    `now` and the setup row's result and notes. With BENCH_METRICS_KEEP=<dir>, a warehouse
    ingested before is copied from there (and one built now is kept there): building `large`
    takes 10–15 minutes, timing what follows a few."""
    stored = kept / f"{preset}.duckdb" if kept else None
    if stored is not None and stored.exists():
        shutil.copy(stored, path)
        now = datetime.fromtimestamp(int(stored.with_suffix(".now").read_text()), UTC)
        master = open_warehouse(path)
        rows = master.execute("SELECT count(*) FROM invoices").fetchall()[0][0]
        return master, now, (f"{rows:,} invoices", f"setup: copied from {stored.name} (kept)")
    master = open_warehouse(path)
    now, objects, seconds = _build(preset, master)
    gc.collect()  # the simulation is gone: `large` holds ~8 GB
    if stored is not None:
        master.execute("CHECKPOINT").fetchall()
        stored.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, stored)
        stored.with_suffix(".now").write_text(str(int(now.timestamp())))
    return master, now, (f"{objects:,} rows", _setup(seconds))


def _build(preset: str, con: duckdb.DuckDBPyConnection) -> tuple[datetime, int, float]:
    """Simulate and ingest; returns the simulation's now, the rows written and the ingest's
    seconds. The simulation lives only inside this call."""
    sim = simulate(42, UNTIL, preset)
    objects, seconds = timed(lambda: ingest(sim, con))
    return _now(sim), objects, seconds


def _setup(seconds: float) -> str:
    return f"setup: simulate freed, local ingest {seconds:.0f} s (no HTTP, nested lists complete)"


def _refresh_rows(
    con: duckdb.DuckDBPyConnection, preset: str, history: float, segments: float
) -> list[Row]:
    counts = con.execute(
        "SELECT (SELECT COUNT(*) FROM subscription_item_history), "
        "(SELECT COUNT(*) FROM mrr_item_pieces), (SELECT COUNT(*) FROM mrr_subscription_pieces), "
        "(SELECT COUNT(*) FROM mrr_labelled_changes), (SELECT COUNT(*) FROM mrr_paid_spells)"
    ).fetchall()[0]
    note = f"`{preset}`; the service's master connection (1 thread, 512 MB"
    pieces = (
        f"{counts[0]:,} item history rows → {counts[1]:,} item, {counts[2]:,} subscription "
        f"pieces, {counts[3]:,} labelled changes, {counts[4]:,} paid spells"
    )
    return [
        Row(
            "metrics: history rebuild (sync)",
            f"{history:.2f} s",
            f"{note}; for it 2 threads and {REBUILD_MEMORY}, batches of {BATCH:,} subscriptions)",
        ),
        Row("metrics: refresh (stored MRR tables)", f"{segments:.2f} s", f"{note}); {pieces}"),
    ]


def _query_rows(settings: Settings, preset: str) -> list[Row]:
    """Each query cold (first run on a newly opened snapshot connection; the OS file cache may
    hold the file) and then warm (the best of the next WARM_RUNS: the machine is shared, and one
    run moves by ±50% with its neighbours' load)."""
    found: list[Row] = []
    warm_total = cold_total = 0.0
    with duckdb.connect() as nothing:
        names = list(queries(nothing, settings))
    for name in names:
        reader = SnapshotReader(settings.snapshot_dir)
        con = reader.connection()
        assert con is not None
        query = queries(con, settings)[name]
        _, cold = timed(query)
        warm = min(timed(query)[1] for _ in range(WARM_RUNS))
        reader.close()
        cold_total, warm_total = cold_total + cold, warm_total + warm
        found.append(
            Row(f"metrics: {name}, warm / cold", f"{warm * 1000:.0f} / {cold * 1000:.0f} ms", "")
        )
    found.append(
        Row(
            "metrics: every query above, warm / cold",
            f"{warm_total:.2f} / {cold_total:.2f} s",
            f"`{preset}` snapshot, read-only",
        )
    )
    return found

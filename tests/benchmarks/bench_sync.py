"""Sync figures: the backfill against a sandbox limited like live mode, vs. the API bound and a
naive baseline; local ingest alone; peak memory of the backfill; reads per idle run.

The backfill runs in a child process (so its peak RSS is its own); the sandbox runs here.
`large` is used when the sandbox has it, else `demo` (the row notes say which).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import stripe

from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation, simulate
from sandbox.sim.presets import get_preset
from sync.fetch import FetchedPage
from sync.store import open_warehouse
from sync.writer import Writer
from tests.benchmarks.common import Row, timed

UNTIL = date(2026, 11, 20)
LIVE = {"rate": 100.0, "endpoint_rate": 25.0}
SYNC_LIMITS = {"rate": 90.0, "endpoint_rate": 24.0}  # what the child configures (below LIVE)
CHILD = """
import json, sys, threading, time, dataclasses
from pathlib import Path
from app.service import sync_and_publish
from app.settings import Secret, Settings

# Peak RSS from /proc, sampled: getrusage's ru_maxrss would include the parent's RSS at the
# fork (Linux carries it across exec), and the parent holds the whole simulation.
samples = []
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
def sample():
    while True:
        samples.append((time.perf_counter(), rss_mb()))
        time.sleep(0.2)
threading.Thread(target=sample, daemon=True).start()

url, key, data_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
settings = dataclasses.replace(Settings(), stripe_api_key=Secret(key), stripe_api_base=url,
    data_dir=data_dir, sync_rate=90.0, sync_endpoint_rate=24.0)
# the served account is frozen at its `now` (its Date header says so): each run after the
# first re-reads the overlap before its cursor, as the first run after a backfill does
started = time.perf_counter()
result = sync_and_publish(settings)
seconds = time.perf_counter() - started
backfilled = started + result.seconds.get("backfill", 0.0)
after = sync_and_publish(settings)
idle_started = time.perf_counter()
idle = sync_and_publish(settings)
idle_seconds = time.perf_counter() - idle_started
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
peak = lambda lo, hi: max((m for t, m in samples if lo <= t <= hi), default=0.0)
print(json.dumps({"seconds": seconds, "phases": result.seconds, "reads": result.reads,
    "status": result.status,
    "objects": sum(result.objects.values()), "idle_reads": idle.reads, "after_reads": after.reads,
    "idle_seconds": idle_seconds, "idle_phases": idle.seconds,
    "rss_backfill_mb": peak(started, backfilled),
    "rss_after_mb": peak(backfilled, idle_started),
    "rss_idle_mb": peak(idle_started, time.perf_counter()),
    "rss_mb": int(hwm.split()[1]) / 1024}))
"""


def _preset() -> str:
    """`large` when the sandbox has it; BENCH_SYNC_PRESET overrides it (`demo`: a quick run)."""
    chosen = os.environ.get("BENCH_SYNC_PRESET")
    if chosen:
        return chosen
    try:
        get_preset("large")
    except (KeyError, ValueError):
        return "demo"
    return "large"


def bound_seconds(sim: Simulation) -> tuple[float, int, str]:
    """max(all pages ÷ 100, largest endpoint's pages ÷ 25): the least time any client needs."""
    pages = endpoint_pages(sim)
    total = sum(pages.values())
    top = max(pages, key=lambda p: pages[p])
    return max(total / LIVE["rate"], pages[top] / LIVE["endpoint_rate"]), total, top


def endpoint_pages(sim: Simulation) -> dict[str, int]:
    """Pages of 100 per endpoint a complete backfill must read (nested lists: beyond the 10
    embedded in their parent)."""
    pages: dict[str, int] = {}
    for name, objects in (
        *((name, sim.resource(name)) for name in _LISTED),
        ("events", {k: e for k, e in sim.events.items() if e["created"] >= sim.now - 30 * 86_400}),
    ):
        pages[f"/v1/{name}"] = max(1, math.ceil(len(objects) / 100))
    for path, nested in (
        ("/v1/invoices/{id}/lines", sim.invoice_lines),
        ("/v1/subscription_items", sim.subscription_items),
    ):
        pages[path] = sum(math.ceil((len(v) - 10) / 100) for v in nested.values() if len(v) > 10)
    return pages


def bound_row(sim: Simulation, preset: str) -> Row:
    """What the bound is made of, and the floor at the sync's own (4% lower) limits."""
    pages = endpoint_pages(sim)
    total, top = sum(pages.values()), max(pages, key=lambda p: pages[p])
    bound, _, _ = bound_seconds(sim)
    own = max(total / SYNC_LIMITS["rate"], pages[top] / SYNC_LIMITS["endpoint_rate"])
    biggest = sorted(pages.items(), key=lambda kv: -kv[1])[:4]
    return Row(
        f"sync: API bound `{preset}`",
        f"{bound:.1f} s",
        f"all {total} pages ÷ 100 = {total / LIVE['rate']:.1f} s; {top} {pages[top]} ÷ 25 = "
        f"{pages[top] / LIVE['endpoint_rate']:.1f} s; at the sync's 90/24: {own:.1f} s; "
        + ", ".join(f"{path} {n}" for path, n in biggest),
    )


_LISTED = ("customers", "products", "prices", "coupons", "subscriptions", "invoices", "charges")
_LISTED += ("refunds", "disputes", "webhook_endpoints")


def backfill_row(sim: Simulation, server: SandboxServer, preset: str, tmp: Path) -> list[Row]:
    bound, pages, top = bound_seconds(sim)
    command = [sys.executable, "-c", CHILD, server.url, server.api_key, str(tmp / "ours")]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        seen, minute = 0, 0
        while True:
            try:
                stdout, stderr = child.communicate(timeout=60)
                break
            except subprocess.TimeoutExpired:
                minute += 1
                seen = _log_minute(server, seen, minute)
    if child.returncode != 0:
        raise RuntimeError(f"the backfill child failed:\n{stderr}")
    found = json.loads(stdout.strip().splitlines()[-1])
    limited = sum(1 for r in server.requests if r.status == 429)
    phases = found["phases"]
    return [
        Row(
            f"sync: backfill `{preset}`, live limits, vs bound",
            f"{phases['backfill'] / bound:.2f} ×",
            f"{phases['backfill']:.1f} s fetching and writing vs bound {bound:.1f} s ({pages} "
            f"pages, busiest {top}); {found['reads']} reads, {limited} refused (429), status "
            f"{found['status']}",
        ),
        Row(
            f"sync: first sync `{preset}`, end to end",
            f"{found['seconds']:.1f} s",
            f"= {found['seconds'] / bound:.2f} × bound; after the backfill: catch-up poll "
            f"{phases['poll']:.1f} s, history {phases['history']:.1f} s, publish and the rest "
            f"{found['seconds'] - sum(phases.values()):.1f} s",
        ),
        Row(
            "sync: first sync peak memory (child RSS)",
            f"{found['rss_mb']:.0f} MB",
            f"`{preset}`, {found['objects']:,} rows written; sampled peaks: backfill "
            f"{found['rss_backfill_mb']:.0f} MB, after it (catch-up poll, history, metrics, "
            f"publish; the next run) {found['rss_after_mb']:.0f} MB",
        ),
        Row(
            "sync: idle incremental run",
            f"{found['idle_seconds']:.1f} s",
            f"`{preset}`: poll {found['idle_phases'].get('poll', 0):.1f} s, history "
            f"{found['idle_phases'].get('history', 0):.1f} s, metrics "
            f"{found['idle_phases'].get('metrics', 0):.1f} s, publish and the rest; peak RSS "
            f"{found['rss_idle_mb']:.0f} MB",
        ),
        Row(
            "sync: reads per idle incremental run",
            str(found["idle_reads"]),
            f"`{preset}`, the third run on the served account, whose clock stands at the "
            "backfill's time: each run re-reads the 300 s overlap before its cursor; the "
            f"second read {found['after_reads']}",
        ),
    ]


_ID = re.compile(r"^[a-z]{2,6}_[A-Za-z0-9]+$")  # in_1A2b, sub_9x, si_3c (not subscription_items)


def _log_minute(server: SandboxServer, seen: int, minute: int) -> int:
    """Print (to stderr) the pages served per endpoint in the last minute: where the time goes."""
    records = [server.requests[i] for i in range(seen, len(server.requests))]
    served: dict[str, int] = {}
    for record in records:
        path = record.path.split("?", 1)[0]
        endpoint = "/".join("{id}" if _ID.match(part) else part for part in path.split("/"))
        key = endpoint if record.status == 200 else f"{endpoint} ({record.status})"
        served[key] = served.get(key, 0) + 1
    busiest = sorted(served.items(), key=lambda kv: -kv[1])
    print(
        f"  backfill minute {minute}: {len(records)} requests; "
        + ", ".join(f"{key} {count / 60:.1f}/s" for key, count in busiest[:6]),
        file=sys.stderr,
        flush=True,
    )
    return seen + len(records)


def naive_row(sim: Simulation, server: SandboxServer, tmp: Path) -> Row:
    """Sequential auto-paging with the SDK and one INSERT per object (the skeleton's way)."""
    client = stripe.StripeClient(server.api_key, base_addresses={"api": server.url})
    con = duckdb.connect(str(tmp / "naive.duckdb"))
    con.execute("CREATE TABLE objects (id VARCHAR PRIMARY KEY, kind VARCHAR, raw JSON)")
    listed = 0

    def run() -> None:
        nonlocal listed
        for name in _LISTED:
            params = {"limit": 100, **({"status": "all"} if name == "subscriptions" else {})}
            page = client.raw_request("get", f"/v1/{name}", **params)
            while True:
                data = json.loads(page.body)
                for obj in data["data"]:
                    con.execute(
                        "INSERT OR REPLACE INTO objects VALUES (?, ?, ?)",
                        [obj["id"], name, json.dumps(obj)],
                    )
                    listed += 1
                if not data["has_more"]:
                    break
                params["starting_after"] = data["data"][-1]["id"]
                page = client.raw_request("get", f"/v1/{name}", **params)

    _, seconds = timed(run)
    return Row(
        "sync: naive baseline (sequential, row by row)",
        f"{seconds:.1f} s",
        f"{listed:,} top-level objects only (no events, lines or items), same limits",
    )


def local_ingest(sim: Simulation, tmp: Path, runs: int = 3) -> Row:
    """Parse + load with no HTTP: page bodies as a backfill receives them, through its writer
    (`sync.writer`: spooling, staging and committing pipelined), flushed every 50 pages of a
    resource; each run into a new warehouse, the median reported (this shared machine's speed
    moves by tens of percent from one minute to the next: every run is printed).

    Objects are the rows written (top-level objects and the nested ones their pages embed).
    """
    bodies = {
        name: _pages(list(sim.resource(name).values()))
        for name in (*_LISTED, "events")
        if name != "webhook_endpoints"
    }
    rates: list[float] = []
    objects = 0
    for run in range(runs):
        objects, seconds = _ingest_once(bodies, tmp / f"ingest_{run}.duckdb")
        rates.append(objects / seconds)
    median = sorted(rates)[len(rates) // 2]
    return Row(
        "sync: local ingest (parse + load, no HTTP)",
        f"{median:,.0f} obj/s",
        f"median of {runs} runs ({', '.join(f'{rate:,.0f}' for rate in rates)}); {objects:,} "
        "objects written (lines and items included) by the backfill's writer; nested lists "
        "embedded only (10 per parent), as served",
    )


def _ingest_once(bodies: dict[str, list[str]], path: Path) -> tuple[int, float]:
    """Objects written, and seconds, for one ingest of `bodies` into a new warehouse at `path`."""
    con = open_warehouse(path)
    writer = Writer(con, lambda: datetime.now(UTC), lambda: None)

    def load() -> None:
        for table, pages in bodies.items():
            for start in range(0, len(pages), 50):
                for body in pages[start : start + 50]:
                    writer.buffer(FetchedPage(table, body, 0, True, None, None, None))
                writer.flush([])
        writer.collect()

    try:
        _, seconds = timed(load)
    finally:
        writer.close()
        con.close()
    return sum(writer.written.values()), seconds


def _pages(objects: list[dict]) -> list[str]:
    return [
        json.dumps({"object": "list", "data": objects[i : i + 100], "has_more": True})
        for i in range(0, len(objects), 100)
    ]


def rows() -> list[Row]:
    preset = _preset()
    started = time.perf_counter()
    sim = simulate(42, UNTIL, preset)
    generated = time.perf_counter() - started
    found: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, start_server(sim, **LIVE) as server:  # type: ignore[arg-type]
        found.append(bound_row(sim, preset))
        found += backfill_row(sim, server, preset, Path(tmp))
        if preset == "demo":  # sequential paging of `large` would take hours
            found.append(naive_row(sim, server, Path(tmp)))
        if preset == "demo":  # on `large` the bodies alone would add ~5 GB to the sandbox's 10
            found.append(local_ingest(sim, Path(tmp)))
    note = "" if preset == "large" else " (not `large`: see docs/PERFORMANCE.md)"
    found.append(Row(f"sync: simulate `{preset}`", f"{generated:.1f} s", f"setup only{note}"))
    return found

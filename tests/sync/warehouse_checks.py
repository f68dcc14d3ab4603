"""Shared checks over a synced warehouse: per-table checksums, ids, a sync in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from sandbox.api.server import SandboxServer

# Every table the sync fills from Stripe objects (not its bookkeeping).
OBJECT_TABLES = (
    "customers",
    "products",
    "prices",
    "coupons",
    "discounts",
    "subscriptions",
    "subscription_items",
    "invoices",
    "invoice_lines",
    "charges",
    "refunds",
    "disputes",
    "events",
    "webhook_endpoints",
)
UNCHECKED = {"raw", "synced_at"}


def checksums(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """(rows, order-independent hash over ids and every typed column) per object table."""
    return {table: checksum(con, table) for table in OBJECT_TABLES}


def checksum(con: duckdb.DuckDBPyConnection, table: str, where: str = "TRUE") -> tuple[int, int]:
    """(rows, order-independent hash over ids and every typed column) of `table`'s rows `where`."""
    columns = [
        name
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if name not in UNCHECKED
    ]
    quoted = ", ".join(f'"{c}"' for c in columns)
    rows, digest = con.execute(
        f"SELECT count(*), coalesce(sum(hash(row({quoted}))), 0)::HUGEINT FROM {table} "
        f"WHERE {where}"
    ).fetchall()[0]
    return int(rows), int(digest)


def ids(con: duckdb.DuckDBPyConnection, table: str, where: str = "TRUE") -> set[str]:
    return {row[0] for row in con.execute(f"SELECT id FROM {table} WHERE {where}").fetchall()}


ROOT = Path(__file__).resolve().parents[2]


def sync_process(
    server: SandboxServer, data_dir: Path, rate: float, endpoint_rate: float | None = None
) -> subprocess.Popen[str]:
    """`paylens sync` against `server` in a process of its own, as a user runs it: its threads
    never hold the server's GIL, so the server logs each request when it arrives."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PAYLENS_", "STRIPE_", "SLACK_"))
    }
    env |= {
        "STRIPE_API_KEY": server.api_key,
        "PAYLENS_STRIPE_API_BASE": server.url,
        "PAYLENS_DATA_DIR": str(data_dir),
        "PAYLENS_SYNC_RATE": str(rate),
    }
    if endpoint_rate is not None:
        env["PAYLENS_SYNC_ENDPOINT_RATE"] = str(endpoint_rate)
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sync"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

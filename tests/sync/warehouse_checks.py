"""Shared checks over a synced warehouse: per-table checksums and a clock on the sandbox's time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import duckdb

from sandbox.sim import Simulation

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


def sim_clock(sim: Simulation) -> Callable[[], datetime]:
    """The sandbox's own 'now': the sync's clock must agree with Stripe's (here, the sim's)."""
    return lambda: datetime.fromtimestamp(sim.now, UTC)


def ids(con: duckdb.DuckDBPyConnection, table: str, where: str = "TRUE") -> set[str]:
    return {row[0] for row in con.execute(f"SELECT id FROM {table} WHERE {where}").fetchall()}

"""A throwaway warehouse for metric tests: the real schema, filled from compact tuples.

    wh = Warehouse.create(tmp_path / "w.duckdb")
    wh.prices(Price("price_m", "usd", 10_000, "month"))
    wh.subscriptions(Sub("sub_1", "active", "2026-01-05", [("price_m", 2)]))
    wh.charges(Charge("ch_1", "2026-03-01 10:00", "succeeded"))

Only the typed columns the metrics read carry meaningful values; `raw` is '{}'. MRR queries read
tables `metrics.refresh` stores (as the service does before it publishes): `wh.refresh()`, or
`wh.read_only()`, which refreshes before it reopens the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import duckdb

from metrics.refresh import refresh
from sync.schema import schema_sql

API_VERSION = "2026-10-28.endive"
SYNCED_AT = datetime(2026, 11, 1, 12, 0, 0)
PRICE_CREATED = datetime(2025, 1, 1)


class Price(NamedTuple):
    """A price; `interval=None` makes it one_time, `unit_amount=None` makes it tiered."""

    id: str
    currency: str
    unit_amount: int | None
    interval: str | None
    interval_count: int = 1
    usage_type: str | None = "licensed"


class Sub(NamedTuple):
    """A subscription with its items as (price id, quantity); `created` is ISO text."""

    id: str
    status: str
    created: str
    items: list[tuple[str, int | None]]


class Charge(NamedTuple):
    """A charge; `created` is ISO text in UTC."""

    id: str
    created: str
    status: str
    amount: int = 1_000
    payment_intent: str | None = None


@dataclass
class Warehouse:
    """A DuckDB file built from the warehouse schema (`sync.schema`), with helpers to insert
    hand-built rows."""

    path: Path
    con: duckdb.DuckDBPyConnection

    @classmethod
    def create(cls, path: Path) -> Warehouse:
        con = duckdb.connect(str(path))
        con.execute(schema_sql())
        return cls(path=path, con=con)

    def prices(self, *rows: Price) -> None:
        self.con.executemany(
            "INSERT INTO prices (id, created, product, currency, unit_amount, billing_scheme, "
            "type, interval, interval_count, usage_type, active, raw, api_version, synced_at) "
            "VALUES (?, ?, 'prod_test', ?, ?, ?, ?, ?, ?, ?, TRUE, '{}', ?, ?)",
            [_price_params(row) for row in rows],
        )

    def subscriptions(self, *rows: Sub) -> None:
        """Insert subscriptions and their items (item ids `si_<sub>_<n>`, customer `cus_<sub>`);
        each subscription takes its first price's currency, as in Stripe."""
        currencies = dict(self.con.execute("SELECT id, currency FROM prices").fetchall())
        subscriptions, items = [], []
        for row in rows:
            created = datetime.fromisoformat(row.created)
            currency = currencies[row.items[0][0]] if row.items else "usd"
            customer = f"cus_{row.id}"
            subscription = (row.id, created, customer, row.status, currency, created)
            subscriptions.append((*subscription, API_VERSION, SYNCED_AT))
            for index, (price, quantity) in enumerate(row.items):
                item = (f"si_{row.id}_{index}", row.id, price, quantity, created)
                items.append((*item, API_VERSION, SYNCED_AT))
        self.con.executemany(
            "INSERT INTO subscriptions (id, created, customer, status, currency, start_date, raw, "
            "api_version, synced_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?)",
            subscriptions,
        )
        if items:
            self.con.executemany(
                "INSERT INTO subscription_items (id, subscription, price, quantity, created, raw, "
                "api_version, synced_at) VALUES (?, ?, ?, ?, ?, '{}', ?, ?)",
                items,
            )

    def charges(self, *rows: Charge) -> None:
        self.con.executemany(
            "INSERT INTO charges (id, created, payment_intent, amount, currency, status, paid, "
            "raw, api_version, synced_at) VALUES (?, ?, ?, ?, 'usd', ?, ?, '{}', ?, ?)",
            [_charge_params(row) for row in rows],
        )

    def refresh(self) -> None:
        """Store the MRR segments from the rows inserted so far, as the service does."""
        refresh(self.con)

    def read_only(self) -> duckdb.DuckDBPyConnection:
        """Refresh, close the writing connection (DuckDB locks the file) and reopen the file
        read-only: what a published snapshot is."""
        self.refresh()
        self.con.close()
        return duckdb.connect(str(self.path), read_only=True)


def _price_params(row: Price) -> tuple[object, ...]:
    recurring = row.interval is not None
    return (
        row.id,
        PRICE_CREATED,
        row.currency,
        row.unit_amount,
        "per_unit" if row.unit_amount is not None else "tiered",
        "recurring" if recurring else "one_time",
        row.interval,
        row.interval_count if recurring else None,
        row.usage_type if recurring else None,
        API_VERSION,
        SYNCED_AT,
    )


def _charge_params(row: Charge) -> tuple[object, ...]:
    return (
        row.id,
        datetime.fromisoformat(row.created),
        row.payment_intent or f"pi_{row.id}",
        row.amount,
        row.status,
        row.status == "succeeded",
        API_VERSION,
        SYNCED_AT,
    )

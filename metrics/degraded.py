"""What the warehouse is missing, said once: the degradations every surface shows.

A figure computed without some of the account's objects looks like any other figure: 60
quarantined subscriptions take MRR down, a key that may not read charges leaves the payment
rates empty, an item whose price is unknown counts as 0. Each such gap is a `Degradation` here,
with how many objects it concerns and what it affects; `paylens report` lists them among its
`warnings`, every dashboard page shows them in a banner, and the `sync_degraded` alert fires
while there is any. The gaps:

- objects in quarantine, per table (`sql/degraded_quarantine.sql`); for subscriptions and their
  items, how many subscriptions MRR leaves out;
- resources the sync cannot read: 403 (the key may not read them) or 404 (the API does not
  serve them), recorded by the sync in `sync_state` under UNAVAILABLE (`sync.availability`);
- subscription items whose price is not in the warehouse (`sql/degraded_unknown_prices.sql`).

They describe the warehouse as the last sync left it, for the objects it held by the end of
`as_of` (by default all of them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from metrics.signals_query import rows

QUARANTINED = "quarantined"
UNAVAILABLE = "unavailable"
UNKNOWN_PRICE = "unknown_price"
# The sync_state key the sync records unavailable resources under (`sync.store.UNAVAILABLE`;
# metrics may not import sync, a test keeps the two equal).
UNAVAILABLE_KEY = "unavailable_resources"

# What a table's or resource's missing objects take away, for people.
AFFECTS: dict[str, str] = {
    "customers": "customer counts, ARPU and LTV",
    "products": "plan names",
    "prices": "MRR",
    "coupons": "net MRR (discounts)",
    "discounts": "net MRR (discounts)",
    "subscriptions": "MRR, churn and retention",
    "subscription_items": "MRR",
    "invoices": "failure and recovery rates, history before the first sync",
    "invoice_lines": "history before the first sync",
    "charges": "payment success rate and declines",
    "refunds": "refunds and refund rate",
    "disputes": "disputes and dispute rate",
    "events": "history and webhook delivery",
    "webhook_endpoints": "webhook endpoints",
}


@dataclass(frozen=True)
class Degradation:
    """One gap: its `kind` (QUARANTINED, UNAVAILABLE, UNKNOWN_PRICE), the table or resource it
    is about (`subject`), how many objects (`count`; 1 for a resource), what it affects, and
    the sentence shown for it (account text in it must be shown as plain text)."""

    kind: str
    subject: str
    count: int
    affects: str
    text: str


def degradations(con: duckdb.DuckDBPyConnection, as_of: date = date.max) -> tuple[Degradation, ...]:
    """Every gap of the warehouse: resources unavailable, then quarantined objects per table
    (first seen by the end of `as_of`), then items with an unknown price (of subscriptions
    created by then)."""
    return (*_unavailable(con), *_quarantined(con, as_of), *_unknown_prices(con, as_of))


def _unavailable(con: duckdb.DuckDBPyConnection) -> list[Degradation]:
    found = con.execute("SELECT value FROM sync_state WHERE key = ?", [UNAVAILABLE_KEY]).fetchall()
    entries = json.loads(found[0][0]) if found else {}
    result = []
    for name, entry in sorted(entries.items()):
        since = datetime.fromtimestamp(int(entry["since"]), UTC).date().isoformat()
        affects = AFFECTS.get(name, name)
        text = f"{name} unavailable since {since}: {entry['reason']}; not synced, affects {affects}"
        result.append(Degradation(UNAVAILABLE, name, 1, affects, text))
    return result


def _quarantined(con: duckdb.DuckDBPyConnection, as_of: date) -> list[Degradation]:
    result = []
    found = rows(con, ["degraded_quarantine.sql"], {"as_of": as_of})
    for table, objects, subscriptions, since in found:
        affects = AFFECTS.get(table, table)
        noun = "object" if objects == 1 else "objects"
        text = (
            f"{objects} {noun} in {table} quarantined since {since:%Y-%m-%d} (malformed, not "
            f"stored); affects {affects}"
        )
        if subscriptions:
            text += f"; MRR excludes {_subscriptions(subscriptions)}"
        result.append(Degradation(QUARANTINED, table, int(objects), affects, text))
    return result


def _unknown_prices(con: duckdb.DuckDBPyConnection, as_of: date) -> list[Degradation]:
    items, subscriptions, paying = rows(con, ["degraded_unknown_prices.sql"], {"as_of": as_of})[0]
    if not items:
        return []
    text = (
        f"{items} subscription item{'s' if items != 1 else ''} of "
        f"{_subscriptions(subscriptions)} ({paying} active or past due) name a price that is "
        "not synced; MRR counts them as 0"
    )
    return [Degradation(UNKNOWN_PRICE, "subscription_items", int(items), "MRR", text)]


def _subscriptions(count: int) -> str:
    return f"{count} subscription{'s' if count != 1 else ''}"

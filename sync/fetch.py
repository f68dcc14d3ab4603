"""Fetching: generators that yield pages of plain dicts, following Stripe's cursors.

Fetching knows nothing of the warehouse; `sync.engine` wires pages into `sync.store`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sync.client import StripeReader

PAGE_SIZE = 100

# What a backfill lists, in an order that keeps parents ahead of the objects pointing at them.
LIST_ENDPOINTS: dict[str, tuple[str, dict[str, Any]]] = {
    "products": ("/v1/products", {}),
    "prices": ("/v1/prices", {}),
    "customers": ("/v1/customers", {}),
    "subscriptions": ("/v1/subscriptions", {"status": "all"}),
    "invoices": ("/v1/invoices", {}),
    "charges": ("/v1/charges", {}),
}


def fetch_pages(
    reader: StripeReader, path: str, params: Mapping[str, Any] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every page of a list endpoint, newest first, `limit=100`, until `has_more` is false."""
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {**(params or {}), "limit": PAGE_SIZE}
        if cursor is not None:
            query["starting_after"] = cursor
        page = reader.get(path, query)
        data = page.get("data") or []
        if data:
            yield data
        if not page.get("has_more") or not data:
            return
        cursor = data[-1]["id"]


def complete_nested(
    reader: StripeReader, parent: dict[str, Any], attribute: str
) -> list[dict[str, Any]]:
    """All children of an embedded list (`subscription.items`, `invoice.lines`).

    Stripe embeds only the first page; when it says `has_more`, the rest is listed from the
    list's own `url`, starting after the last embedded child.
    """
    nested = parent.get(attribute) or {}
    children = list(nested.get("data") or [])
    if not nested.get("has_more"):
        return children
    url = nested.get("url")
    if not url:
        raise ValueError(f"{parent.get('id')}: {attribute} has more but no url to follow")
    cursor = children[-1]["id"] if children else None
    while True:
        query: dict[str, Any] = {"limit": PAGE_SIZE}
        if cursor is not None:
            query["starting_after"] = cursor
        page = reader.get(url, query)
        data = page.get("data") or []
        children.extend(data)
        if not page.get("has_more") or not data:
            return children
        cursor = data[-1]["id"]

"""Fetching: what each resource is listed as, and one page at a time, following Stripe's cursors.

Fetching knows nothing of the warehouse: it returns page bodies (ingested by `sync.ingest`) and
the few decoded fields the coordinator needs (ids, `created`, `has_more`). Nested lists that
Stripe truncates (`subscription.items`, `invoice.lines`) are completed here, from the list's
own `url`, before a page is handed over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.client import Page, StripeReader, StripeSyncError

PAGE_SIZE = 100


@dataclass(frozen=True)
class Resource:
    """A list endpoint and the warehouse table its objects go to."""

    name: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    windowed: bool = True  # accepts created[gte|lte] (webhook endpoints do not)
    nested: tuple[tuple[str, str], ...] = ()  # (attribute, child table) to complete
    # one object, not a list (`tax.settings`): read without paging parameters and stored as
    # the row whose id is the resource's name (Stripe gives it none)
    single: bool = False


# What a backfill lists. Discounts have no list endpoint: they come expanded on subscriptions,
# items and invoices, and from `customer.discount.*` events.
RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("products", "/v1/products"),
        Resource("prices", "/v1/prices"),
        Resource("coupons", "/v1/coupons"),
        Resource("customers", "/v1/customers"),
        Resource(
            "subscriptions",
            "/v1/subscriptions",
            {"status": "all", "expand[0]": "data.discounts"},
            nested=(("items", "subscription_items"),),
        ),
        Resource(
            "invoices",
            "/v1/invoices",
            {"expand[0]": "data.discounts"},
            nested=(("lines", "invoice_lines"),),
        ),
        Resource("charges", "/v1/charges"),
        Resource("refunds", "/v1/refunds"),
        Resource("disputes", "/v1/disputes"),
        Resource("events", "/v1/events"),
        Resource("webhook_endpoints", "/v1/webhook_endpoints", windowed=False),
        # the integration setup (issue 20), also listed every few days (`sync.account_setup`)
        Resource(
            "billing_portal_configurations", "/v1/billing_portal/configurations", windowed=False
        ),
        Resource("tax_settings", "/v1/tax/settings", windowed=False, single=True),
        Resource("tax_registrations", "/v1/tax/registrations", windowed=False),
    )
}


@dataclass(frozen=True)
class FollowUp:
    """The rest of one parent's truncated nested list, after the children it embeds."""

    table: str
    parent: str
    url: str
    cursor: str | None


@dataclass
class FetchedPage:
    """One list page, and the rest of any nested list it truncated, as body texts.

    Fetched with `complete=False`, the truncated lists are left in `follow_ups` instead, so the
    caller can fetch them in parallel (they all share one endpoint, usually the busiest).
    """

    resource: str
    body: str
    count: int
    has_more: bool
    last_id: str | None
    last_created: int | None
    first_created: int | None
    children: dict[str, list[tuple[str, str]]] = field(
        default_factory=dict
    )  # table -> [(parent, body)]
    follow_ups: list[FollowUp] = field(default_factory=list)


def fetch_page(
    reader: StripeReader,
    resource: Resource,
    *,
    lo: int | None = None,
    hi: int | None = None,
    cursor: str | None = None,
    complete: bool = True,
) -> FetchedPage:
    """One page of `resource` created in [lo, hi], newest first, after `cursor` (a single
    object: itself, as a page of one)."""
    if resource.single:
        return _fetched(reader, resource, single_page(reader, resource), complete)
    params: dict[str, Any] = {**resource.params, "limit": PAGE_SIZE}
    if lo is not None and lo > 0:
        params["created[gte]"] = lo
    if hi is not None:
        params["created[lte]"] = hi
    if cursor is not None:
        params["starting_after"] = cursor
    page = reader.page(resource.path, params)
    return _fetched(reader, resource, page, complete)


def single_page(reader: StripeReader, resource: Resource) -> Page:
    """A single object read as a list page of one, with its id: the resource's name. Stripe's
    `tax.settings` has no id; the row needs one, and an account has one such object."""
    page = reader.page(resource.path, dict(resource.params))
    if page.data.get("undecodable") is True:  # quarantined by the reader (sync.undecodable)
        return Page({"data": [], "has_more": False}, '{"data":[]}')
    found = {"id": resource.name, **{k: v for k, v in page.data.items() if k != "id"}}
    return Page({"data": [found], "has_more": False}, json.dumps({"data": [found]}))


def _fetched(reader: StripeReader, resource: Resource, page: Page, complete: bool) -> FetchedPage:
    data = page.data.get("data") or []
    has_more = bool(page.data.get("has_more")) and bool(data)
    created = [o["created"] for o in data if isinstance(o, dict) and type(o.get("created")) is int]
    fetched = FetchedPage(
        resource=resource.name,
        body=page.body,
        count=len(data),
        has_more=has_more,
        last_id=_cursor(data, resource.path) if has_more else _last_id(data),
        last_created=created[-1] if created else None,
        first_created=created[0] if created else None,
    )
    for attribute, table in resource.nested:
        truncated = follow_ups(data, attribute, table)
        fetched.children[table] = []
        if complete:
            for follow_up in truncated:
                fetched.children[table].extend(fetch_rest(reader, follow_up))
        else:
            fetched.follow_ups.extend(truncated)
    return fetched


def complete_nested(
    reader: StripeReader, parents: list[Any], attribute: str
) -> list[tuple[str, str]]:
    """(parent id, page body) for every page of a truncated nested list beyond what is embedded."""
    found = []
    for follow_up in follow_ups(parents, attribute, ""):
        found.extend(fetch_rest(reader, follow_up))
    return found


def follow_ups(parents: list[Any], attribute: str, table: str) -> list[FollowUp]:
    """The nested lists Stripe truncated (`has_more`): only the first page is embedded; the rest
    is listed from the list's own `url`, starting after the last embedded child."""
    found = []
    for parent in parents:
        nested = parent.get(attribute) if isinstance(parent, dict) else None
        if not isinstance(nested, dict) or not nested.get("has_more"):
            continue
        url, children = nested.get("url"), nested.get("data") or []
        if not url:
            continue  # nothing to follow; what is embedded is stored
        cursor = _cursor(children, url) if children else None
        found.append(FollowUp(table, str(parent.get("id")), url, cursor))
    return found


def fetch_rest(reader: StripeReader, follow_up: FollowUp) -> list[tuple[str, str]]:
    """(parent id, page body) for every page of one truncated nested list."""
    found = []
    cursor = follow_up.cursor
    while True:
        query: dict[str, Any] = {"limit": PAGE_SIZE}
        if cursor is not None:
            query["starting_after"] = cursor
        page = reader.page(follow_up.url, query)
        data = page.data.get("data") or []
        found.append((follow_up.parent, page.body))
        if not page.data.get("has_more") or not data:
            return found
        cursor = _cursor(data, follow_up.url)


def _last_id(data: list[Any]) -> str | None:
    """The id of the page's last object with a string id (a malformed one is quarantined by the
    ingest; it must not be a cursor)."""
    ids = [o["id"] for o in data if isinstance(o, dict) and isinstance(o.get("id"), str)]
    return ids[-1] if ids else None


def _cursor(data: list[Any], path: str) -> str:
    """Where the next page of a list with more starts: after the last object with a string id.
    Objects after it (malformed ones) come again at the top of the next page, so none is
    skipped; a page with none at all cannot be continued, and says so."""
    cursor = _last_id(data)
    if cursor is None:
        raise StripeSyncError(
            f"{path}: a page of {len(data)} objects with more to come has no object with a "
            "string id to continue after",
            permanent=True,
        )
    return cursor

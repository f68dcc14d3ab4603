"""The sandbox's Stripe API as a pure function: (method, target, key) -> (status, JSON bytes).

No sockets here, so the semantics can be reasoned about (and benchmarked) apart from HTTP.
Indexes are built once from the final ``Simulation`` when the API is created.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.errors import ApiError, bad_param, invalid_key, missing_key, no_such, unrecognized
from sandbox.listing import FilterKey, ListIndex, Obj, ObjectList, list_body, page
from sandbox.model import RESOURCES, Simulation
from sandbox.params import LIST_PARAMS, Params

SUBSCRIPTION_STATUSES = frozenset(
    {
        "active",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "trialing",
        "paused",
    }
)
_STATUS_VIEWS: dict[str, frozenset[str]] = {
    "ended": frozenset({"canceled", "incomplete_expired"}),
    **{status: frozenset({status}) for status in SUBSCRIPTION_STATUSES},
}
_DEFAULT_SUBSCRIPTIONS = SUBSCRIPTION_STATUSES - {"canceled"}


def _flag(obj: Obj) -> str:
    return "true" if obj["active"] else "false"


FILTERS: dict[str, dict[str, FilterKey]] = {
    "customers": {"email": lambda o: o["email"]},
    "products": {"active": _flag},
    "prices": {
        "active": _flag,
        "product": lambda o: o["product"],
        "currency": lambda o: o["currency"],
        "type": lambda o: o["type"],
    },
    "subscriptions": {"status": lambda o: o["status"], "customer": lambda o: o["customer"]},
    "invoices": {
        "customer": lambda o: o["customer"],
        "status": lambda o: o["status"],
        "subscription": lambda o: o["parent"]["subscription_details"]["subscription"],
    },
    "charges": {
        "customer": lambda o: o["customer"],
        "payment_intent": lambda o: o["payment_intent"],
    },
}


@dataclass(frozen=True)
class Reply:
    """What to send back: an HTTP status and a JSON body."""

    status: int
    body: bytes


class SandboxApi:
    """Routes GET requests to list/retrieve handlers over pre-built indexes."""

    def __init__(self, sim: Simulation, api_key: str) -> None:
        self._key = api_key.encode()
        self._indexes = {
            name: ListIndex(sim.resource(name).values(), FILTERS[name]) for name in RESOURCES
        }
        self._items = {sub: ObjectList(items) for sub, items in sim.subscription_items.items()}
        self._lines = {inv: ObjectList(lines) for inv, lines in sim.invoice_lines.items()}
        self._item_owner = {
            item["id"]: sub for sub, items in sim.subscription_items.items() for item in items
        }

    def handle(self, method: str, target: str, authorization: str | None) -> Reply:
        """Answer one request; every refusal is Stripe's error JSON."""
        try:
            self._authenticate(authorization)
            return Reply(200, self._route(method, target))
        except ApiError as error:
            return Reply(error.status, error.body())

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise missing_key()
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise missing_key()
        if not hmac.compare_digest(key.encode(), self._key):
            raise invalid_key(key)

    def _route(self, method: str, target: str) -> bytes:
        split = urlsplit(target)
        parts = split.path.strip("/").split("/")
        if method != "GET" or len(parts) < 2 or parts[0] != "v1":
            raise unrecognized(method, split.path)
        params, name, rest = Params(split.query), parts[1], parts[2:]
        routes: Mapping[int, Callable[[], bytes]] = {}
        if name in RESOURCES:
            routes = {
                0: lambda: self._list(name, params),
                1: lambda: self._retrieve(name, rest[0], params),
            }
            if name == "invoices":
                routes = {**routes, 2: lambda: self._invoice_lines(rest, params)}
        elif name == "subscription_items":
            routes = {
                0: lambda: self._subscription_items(params),
                1: lambda: self._retrieve_item(rest[0], params),
            }
        handler = routes.get(len(rest))
        if handler is None or (rest and not rest[0]):
            raise unrecognized(method, split.path)
        return handler()

    def _list(self, name: str, params: Params) -> bytes:
        index = self._indexes[name]
        params.allow(LIST_PARAMS | FILTERS[name].keys())
        limit, created = params.limit(), params.created()
        criteria = self._criteria(name, params)
        params.one_cursor()
        cursors = {
            param: self._cursor(index, RESOURCES[name], params, param)
            for param in ("starting_after", "ending_before")
        }
        positions, has_more = page(index.view(criteria), index.bounds(created), limit, **cursors)
        return list_body((index.json(p) for p in positions), has_more, f"/v1/{name}")

    def _criteria(self, name: str, params: Params) -> dict[str, frozenset[str]]:
        criteria = {
            param: frozenset({value})
            for param in FILTERS[name]
            if (value := params.get(param)) is not None
        }
        if name != "subscriptions":
            return criteria
        status = params.get("status")
        criteria.pop("status", None)
        if status is None:
            criteria["status"] = frozenset(_DEFAULT_SUBSCRIPTIONS)
        elif status in _STATUS_VIEWS:
            criteria["status"] = _STATUS_VIEWS[status]
        elif status != "all":
            known = ", ".join(sorted(SUBSCRIPTION_STATUSES | {"all", "ended"}))
            raise bad_param("status", f"Invalid status: must be one of {known}")
        return criteria

    @staticmethod
    def _cursor(objects: ObjectList, object_name: str, params: Params, param: str) -> int | None:
        value = params.get(param)
        if value is None:
            return None
        position = objects.position.get(value)
        if position is None:
            raise no_such(object_name, value, param=param, status=400)
        return position

    def _retrieve(self, name: str, object_id: str, params: Params) -> bytes:
        params.allow(())
        index = self._indexes[name]
        position = index.position.get(object_id)
        if position is None:
            raise no_such(RESOURCES[name], object_id, param="id")
        return index.json(position)

    def _invoice_lines(self, rest: list[str], params: Params) -> bytes:
        invoice, tail = rest[0], rest[1]
        lines = self._lines.get(invoice)
        if tail != "lines" or lines is None:
            if tail == "lines":
                raise no_such("invoice", invoice, param="invoice")
            raise unrecognized("GET", f"/v1/invoices/{invoice}/{tail}")
        return self._nested(lines, "line_item", params, f"/v1/invoices/{invoice}/lines")

    def _subscription_items(self, params: Params) -> bytes:
        subscription = params.get("subscription")
        if subscription is None:
            raise bad_param(
                "subscription", "Missing required param: subscription.", "parameter_missing"
            )
        items = self._items.get(subscription)
        if items is None:
            raise no_such("subscription", subscription, param="subscription", status=400)
        return self._nested(
            items,
            "subscription_item",
            params,
            f"/v1/subscription_items?subscription={subscription}",
            extra=("subscription",),
        )

    def _nested(
        self,
        objects: ObjectList,
        object_name: str,
        params: Params,
        url: str,
        extra: tuple[str, ...] = (),
    ) -> bytes:
        """A nested list (lines, items): kept in the parent's order, paged by position."""
        params.allow(("limit", "starting_after", "ending_before", *extra))
        limit = params.limit()
        params.one_cursor()
        cursors = {
            param: self._cursor(objects, object_name, params, param)
            for param in ("starting_after", "ending_before")
        }
        positions, has_more = page(range(len(objects)), (0, len(objects)), limit, **cursors)
        return list_body((objects.json(p) for p in positions), has_more, url)

    def _retrieve_item(self, item_id: str, params: Params) -> bytes:
        params.allow(())
        subscription = self._item_owner.get(item_id)
        if subscription is None:
            raise no_such("subscription_item", item_id, param="id")
        items = self._items[subscription]
        return items.json(items.position[item_id])

"""The sandbox's Stripe API as a pure function: (method, target, key) -> (status, JSON bytes).

No sockets here, so the semantics can be reasoned about (and benchmarked) apart from HTTP.
Steps per request: authenticate (secret or restricted key), route, check the restricted
key's permission, check parameters, answer from the indexes (``sandbox.api.indexes``).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from sandbox.api.errors import (
    ApiError,
    bad_param,
    forbidden,
    invalid_key,
    missing_key,
    no_such,
    unrecognized,
)
from sandbox.api.expand import check_paths, expand, targets
from sandbox.api.filters import EVENT_RETENTION_SECONDS, criteria, list_params
from sandbox.api.indexes import IndexStore
from sandbox.api.listing import CreatedRange, ObjectList, dumps, list_body, page
from sandbox.api.params import PAGING_PARAMS, Params
from sandbox.objects.account import TaxSpec, tax_settings_object
from sandbox.sim.model import RESOURCES, SERVED_AT, Simulation

# What a restricted key needs to read each endpoint (Stripe's ``rak_*`` permission names).
PERMISSIONS: dict[str, str] = {
    "customers": "rak_customer_read",
    "products": "rak_product_read",
    "prices": "rak_price_read",
    "coupons": "rak_coupon_read",
    "subscriptions": "rak_subscription_read",
    "subscription_items": "rak_subscription_read",
    "invoices": "rak_invoice_read",
    "charges": "rak_charge_read",
    "refunds": "rak_refund_read",
    "disputes": "rak_dispute_read",
    "events": "rak_event_read",
    "webhook_endpoints": "rak_webhook_read",
    "billing_portal_configurations": "rak_billing_portal_configuration_read",
    "tax_settings": "rak_tax_settings_read",
    "tax_registrations": "rak_tax_registration_read",
}
# URLs of two words before the id (`/v1/tax/registrations/{id}`) -> the resource they serve
_NESTED_NAMES: dict[tuple[str, str], str] = {
    ("billing_portal", "configurations"): "billing_portal_configurations",
    ("tax", "registrations"): "tax_registrations",
    ("tax", "settings"): "tax_settings",
}

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Reply:
    """What to send back: an HTTP status, a JSON body and any extra headers."""

    status: int
    body: bytes
    headers: Headers = ()


@dataclass(frozen=True)
class _Caller:
    """Who is asking: the key as sent and the permissions it lacks."""

    key: str
    denied: frozenset[str]


class SandboxApi:
    """Routes GET requests to list/retrieve handlers over the indexes of one simulation."""

    def __init__(
        self,
        sim: Simulation,
        api_key: str,
        restricted_keys: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self._sim = sim
        self._keys = {api_key: frozenset[str]()}
        for key, resources in (restricted_keys or {}).items():
            unknown = sorted(set(resources) - PERMISSIONS.keys())
            if unknown:
                raise ValueError(f"unknown resources for restricted key: {', '.join(unknown)}")
            self._keys[key] = frozenset(PERMISSIONS[name] for name in resources)
        self.store = IndexStore(sim, (name for name in RESOURCES if hasattr(sim, name)))

    def refresh(self) -> bool:
        """Rebuild what the simulation's latest change made stale (see ``IndexStore``)."""
        return self.store.refresh()

    def handle(self, method: str, target: str, authorization: str | None) -> Reply:
        """Answer one request; every refusal is Stripe's error JSON."""
        try:
            caller = self._authenticate(authorization)
            return Reply(200, self._route(method, target, caller))
        except ApiError as error:
            return Reply(error.status, error.body())

    def _authenticate(self, authorization: str | None) -> _Caller:
        if not authorization:
            raise missing_key()
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise missing_key()
        sent = key.encode()
        for known, denied in self._keys.items():
            if hmac.compare_digest(sent, known.encode()):
                return _Caller(key, denied)
        raise invalid_key(key)

    def _route(self, method: str, target: str, caller: _Caller) -> bytes:
        path, _, query = target.partition("?")
        parts = path.strip("/").split("/")
        handler, name = None, ""
        if method == "GET" and len(parts) >= 2 and parts[0] == "v1" and all(parts[1:]):
            name, rest = _resource(parts[1:])
            handler = self._handler(name, rest)
        if handler is None:
            raise unrecognized(method, path)
        permission = PERMISSIONS.get(name, "")
        if permission in caller.denied:
            raise forbidden(caller.key, permission)
        return handler(Params(query), caller)

    def _handler(self, name: str, rest: list[str]) -> Callable[[Params, _Caller], bytes] | None:
        """The handler for ``/v1/<name>/<rest…>``, or None for a URL Stripe would not know."""
        if name == "subscription_items":
            if not rest:
                return self._subscription_items
            return (lambda p, c: self._retrieve_item(rest[0], p, c)) if len(rest) == 1 else None
        if name == "tax_settings":
            return None if rest else self._tax_settings
        if name not in self.store.resources:
            return None
        if not rest:
            return lambda p, c: self._list(name, p, c)
        if len(rest) == 1:
            return lambda p, c: self._retrieve(name, rest[0], p, c)
        if name == "invoices" and rest[1:] == ["lines"]:
            return lambda p, c: self._invoice_lines(rest[0], p, c)
        return None

    def _chunks(
        self,
        objects: ObjectList,
        positions: Collection[int],
        resource: str,
        params: Params,
        caller: _Caller,
        *,
        listing: bool = True,
    ) -> list[bytes]:
        """Each object's JSON: cached bytes, or a fresh copy when something is expanded."""
        if not params.expand:
            return [objects.json(p) for p in positions]
        paths = check_paths(params.expand, listing=listing)
        for path, shown in zip(paths, params.expand, strict=True):
            for target in targets(resource, path, shown):
                permission = PERMISSIONS.get(target, "")
                if permission in caller.denied:
                    raise forbidden(caller.key, permission)
        return [
            dumps(expand(objects.json(p), resource, paths, self.store.get, params.expand))
            for p in positions
        ]

    def _list(self, name: str, params: Params, caller: _Caller) -> bytes:
        index = self.store.index(name)
        params.allow(list_params(name))
        limit, created = params.limit(), params.created()
        if name == "events":
            created = _within_retention(created, self._sim.now)
        chosen = criteria(name, params, index)
        params.one_cursor()
        cursors = {
            param: _cursor(index, RESOURCES[name], params, param)
            for param in ("starting_after", "ending_before")
        }
        positions, has_more = page(index.view(chosen), index.bounds(created), limit, **cursors)
        chunks = self._chunks(index, positions, name, params, caller)
        return list_body(chunks, has_more, SERVED_AT.get(name, f"/v1/{name}"))

    def _retrieve(self, name: str, object_id: str, params: Params, caller: _Caller) -> bytes:
        params.allow(())
        index = self.store.index(name)
        position = index.position.get(object_id)
        if position is None and name == "customers":
            stub = self.store.deleted_stub(name, object_id)
            if stub is not None:  # "deleted customers can still be retrieved" (Stripe)
                return dumps(stub)
        if position is None or (
            name == "events"
            and index.objects[position]["created"] < self._sim.now - EVENT_RETENTION_SECONDS
        ):
            raise no_such(RESOURCES[name], object_id, param="id")
        return self._chunks(index, (position,), name, params, caller, listing=False)[0]

    def _tax_settings(self, params: Params, caller: _Caller) -> bytes:
        """Stripe's one `tax.settings` object (a sandbox built without a setup: pending)."""
        params.allow(())
        settings = getattr(self._sim, "tax_settings", None)
        return dumps(settings if settings is not None else tax_settings_object(TaxSpec()))

    def _invoice_lines(self, invoice: str, params: Params, caller: _Caller) -> bytes:
        lines = self.store.lines(invoice)
        if lines is None:
            raise no_such("invoice", invoice, param="invoice")
        url = f"/v1/invoices/{invoice}/lines"
        return self._nested(lines, "line_item", params, caller, url)

    def _subscription_items(self, params: Params, caller: _Caller) -> bytes:
        subscription = params.get("subscription")
        if subscription is None:
            raise bad_param(
                "subscription", "Missing required param: subscription.", "parameter_missing"
            )
        items = self.store.items(subscription)
        if items is None:
            raise no_such("subscription", subscription, param="subscription", status=400)
        url = f"/v1/subscription_items?subscription={subscription}"
        return self._nested(items, "subscription_item", params, caller, url, ("subscription",))

    def _nested(
        self,
        objects: ObjectList,
        object_name: str,
        params: Params,
        caller: _Caller,
        url: str,
        extra: tuple[str, ...] = (),
    ) -> bytes:
        """A nested list (lines, items): kept in the parent's order, paged by position."""
        params.allow(PAGING_PARAMS | set(extra))
        limit = params.limit()
        params.one_cursor()
        cursors = {
            param: _cursor(objects, object_name, params, param)
            for param in ("starting_after", "ending_before")
        }
        positions, has_more = page(range(len(objects)), (0, len(objects)), limit, **cursors)
        resource = "subscription_items" if object_name == "subscription_item" else "invoice_lines"
        return list_body(self._chunks(objects, positions, resource, params, caller), has_more, url)

    def _retrieve_item(self, item_id: str, params: Params, caller: _Caller) -> bytes:
        params.allow(())
        subscription = self.store.item_owner(item_id)
        items = None if subscription is None else self.store.items(subscription)
        if items is None or item_id not in items.position:
            raise no_such("subscription_item", item_id, param="id")
        position = items.position[item_id]
        return self._chunks(
            items, (position,), "subscription_items", params, caller, listing=False
        )[0]


def _resource(words: list[str]) -> tuple[str, list[str]]:
    """The resource a URL's words after `/v1` name, and the words after it (an id, `lines`)."""
    nested = _NESTED_NAMES.get((words[0], words[1])) if len(words) >= 2 else None
    if nested is not None:
        return nested, words[2:]
    if words[0] in SERVED_AT:
        return "", words[1:]  # the sandbox's own name of a resource Stripe serves elsewhere
    return words[0], words[1:]


def _cursor(objects: ObjectList, object_name: str, params: Params, param: str) -> int | None:
    value = params.get(param)
    if value is None:
        return None
    position = objects.position.get(value)
    if position is None:
        raise no_such(object_name, value, param=param, status=400)
    return position


def _within_retention(created: CreatedRange, now: int) -> CreatedRange:
    """Stripe lists only events of the last 30 days, whatever ``created`` asks for."""
    floor = now - EVENT_RETENTION_SECONDS
    return CreatedRange(floor if created.gte is None else max(created.gte, floor), created.lte)

"""``expand[]``: replacing an id in a served object with the object it names, like Stripe.

A path names a field of the resource (``customer``), a field inside a nested hash
(``parent.subscription_details.subscription``) or, after an expansion, a field of the
expanded object (``latest_invoice.customer``); on a list every path starts with ``data.``.
Anything else is Stripe's 400 "This property cannot be expanded (x).". Expanded objects are
fresh copies parsed from the cached JSON, so the cache and the simulation are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sandbox.api.errors import ApiError
from sandbox.api.listing import Obj

MAX_DEPTH = 4

# resource -> expandable field path -> the resource its ids name
EXPANDABLE: dict[str, dict[str, str]] = {
    "subscriptions": {
        "customer": "customers",
        "latest_invoice": "invoices",
        "discounts": "discounts",
    },
    "invoices": {
        "customer": "customers",
        "discounts": "discounts",
        "parent.subscription_details.subscription": "subscriptions",
    },
    "charges": {"customer": "customers"},
    "refunds": {"charge": "charges"},
    "disputes": {"charge": "charges"},
    "prices": {"product": "products"},
    "subscription_items": {"discounts": "discounts"},
}

Lookup = Callable[[str, str], Obj | None]  # (resource, id) -> the object, or None


def check_paths(paths: list[str], *, listing: bool) -> list[str]:
    """The paths relative to one object (``data.`` stripped on lists); 400 for a bad one."""
    relative = []
    for path in paths:
        if path.count(".") + 1 > MAX_DEPTH:
            raise ApiError(400, "You cannot expand more than 4 levels of a property.")
        if listing:
            if not path.startswith("data."):
                raise ApiError(
                    400,
                    f"This property cannot be expanded ({path}). "
                    f"You may want to try expanding 'data.{path}' instead.",
                )
            path = path[len("data.") :]
        relative.append(path)
    return relative


def targets(resource: str, path: str, shown: str) -> list[str]:
    """The resources a (relative) path expands into, in order; 400 if it cannot be expanded.

    Checked before any object is touched, so a bad path fails even on an empty list, and a
    restricted key can be refused before anything is read.
    """
    found = []
    while path:
        for field, target in EXPANDABLE.get(resource, {}).items():
            if path == field or path.startswith(field + "."):
                found.append(target)
                resource, path = target, path[len(field) + 1 :]
                break
        else:
            raise ApiError(400, f"This property cannot be expanded ({shown}).")
    return found


def expand(
    raw: bytes, resource: str, paths: list[str], lookup: Lookup, full: list[str] | None = None
) -> Obj:
    """A copy of the object serialised as ``raw`` with every path expanded."""
    obj: Obj = json.loads(raw)
    for path, shown in zip(paths, full or paths, strict=True):
        _apply(obj, resource, path, lookup, shown)
    return obj


def _apply(obj: Obj, resource: str, path: str, lookup: Lookup, shown: str) -> None:
    """Expand ``path`` inside ``obj`` (a private copy) in place."""
    for field, target in EXPANDABLE.get(resource, {}).items():
        if path != field and not path.startswith(field + "."):
            continue
        rest = path[len(field) + 1 :]
        *parents, leaf = field.split(".")
        holder: Any = obj
        for key in parents:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and leaf in holder:
            holder[leaf] = _expand_value(holder[leaf], target, rest, lookup, shown)
        return
    raise ApiError(400, f"This property cannot be expanded ({shown}).")


def _expand_value(value: Any, target: str, rest: str, lookup: Lookup, shown: str) -> Any:
    """An id becomes its object (then ``rest`` is expanded inside it); lists element-wise."""
    if isinstance(value, list):
        return [_expand_value(v, target, rest, lookup, shown) for v in value]
    if isinstance(value, str):
        found = lookup(target, value)
        if found is None:
            return value  # not served (yet): left as its id rather than invented
        value = json.loads(json.dumps(found))
    if isinstance(value, dict) and rest:
        _apply(value, target, rest, lookup, shown)
    return value

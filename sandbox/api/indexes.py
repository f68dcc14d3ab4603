"""The listing indexes over a ``Simulation``, kept in step with it as a live clock moves it.

Indexes are built eagerly for a still simulation (so concurrent first requests never build
twice). When ``sim.revision`` changes, every index and cached JSON is dropped and rebuilt
lazily on first use: the live clock mutates objects in place (a subscription's status, an
event's ``pending_webhooks``), so no cached byte can be trusted after a change. Rebuilding
re-sorts from the previous order, which is nearly sorted, so it costs little more than a scan.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.api.filters import EVENT_RETENTION_SECONDS, FILTERS
from sandbox.api.listing import FilterKey, ListIndex, Obj, ObjectList
from sandbox.sim.model import RESOURCES, Simulation


def revision(sim: Simulation) -> int:
    """The simulation's change counter (0 for a simulation that never changes)."""
    return int(getattr(sim, "revision", 0))


class IndexStore:
    """List indexes per resource and nested lists per parent, for one simulation."""

    def __init__(self, sim: Simulation, resources: Iterable[str]) -> None:
        self.sim = sim
        self.resources = tuple(resources)
        self._revision = revision(sim)
        self._indexes: dict[str, ListIndex] = {}
        self._order: dict[str, list[Obj]] = {}
        self._items: dict[str, ObjectList] = {}
        self._lines: dict[str, ObjectList] = {}
        self._item_owner: dict[str, str] | None = None
        for name in self.resources:
            self.index(name)

    def refresh(self) -> bool:
        """Drop everything built from an older revision; True if anything was dropped."""
        current = revision(self.sim)
        if current == self._revision:
            return False
        self._revision = current
        self._indexes.clear()
        self._items.clear()
        self._lines.clear()
        self._item_owner = None
        return True

    def index(self, name: str) -> ListIndex:
        """The index of ``/v1/<name>``; events only within Stripe's 30-day retention."""
        index = self._indexes.get(name)
        if index is None:
            objects = self._objects_in_previous_order(name)
            if name == "events":
                floor = self.sim.now - EVENT_RETENTION_SECONDS
                objects = [obj for obj in objects if obj["created"] >= floor]
            rank = {object_id: i for i, object_id in enumerate(self.sim.resource(name))}
            index = self._indexes[name] = ListIndex(objects, self._filters(name), rank)
            self._order[name] = index.objects
        return index

    def _filters(self, name: str) -> dict[str, FilterKey]:
        """``FILTERS``, except that ``delivery_success`` asks the simulation when it can: an
        event whose deliveries ran out of retries has 0 pending webhooks yet was never
        delivered, and Stripe lists it under ``delivery_success=false``."""
        filters = FILTERS.get(name, {})
        succeeded = getattr(self.sim, "delivery_success", None)
        if name != "events" or not callable(succeeded):
            return filters
        return {
            **filters,
            "delivery_success": lambda obj: "true" if succeeded(obj["id"]) else "false",
        }

    def _objects_in_previous_order(self, name: str) -> list[Obj]:
        """Current objects, the known ones in their last sorted order, new ones at the end,
        so the sort that follows meets long sorted runs."""
        current = self.sim.resource(name)
        previous = self._order.get(name, [])
        known = [obj for obj in previous if current.get(obj["id"]) is obj]
        if len(known) == len(current):
            return known
        seen = {id(obj) for obj in known}
        return known + [obj for obj in current.values() if id(obj) not in seen]

    def get(self, name: str, object_id: str) -> Obj | None:
        """An object by id (any age), for expansion; a deleted one as Stripe's stub."""
        objects: dict[str, Obj] = getattr(self.sim, name, {})
        found = objects.get(object_id)
        return found if found is not None else self.deleted_stub(name, object_id)

    def deleted_stub(self, name: str, object_id: str) -> Obj | None:
        """``{"id", "object", "deleted": true}`` for a deleted object of ``/v1/<name>``."""
        deletion = getattr(self.sim, "deleted", {}).get(object_id)
        if deletion is None or RESOURCES.get(name) != deletion.object["object"]:
            return None
        stub: Obj = deletion.stub()
        return stub

    def items(self, subscription: str) -> ObjectList | None:
        """All items of a subscription, in the subscription's order."""
        return _nested(self._items, self.sim.subscription_items, subscription)

    def lines(self, invoice: str) -> ObjectList | None:
        """All lines of an invoice, in the invoice's order."""
        return _nested(self._lines, self.sim.invoice_lines, invoice)

    def item_owner(self, item_id: str) -> str | None:
        """The subscription a subscription item belongs to."""
        if self._item_owner is None:
            self._item_owner = {
                item["id"]: sub
                for sub, items in self.sim.subscription_items.items()
                for item in items
            }
        return self._item_owner.get(item_id)


def _nested(
    cache: dict[str, ObjectList], source: dict[str, list[Obj]], parent: str
) -> ObjectList | None:
    found = cache.get(parent)
    if found is None:
        objects = source.get(parent)
        if objects is None:
            return None
        found = cache[parent] = ObjectList(objects)
    return found

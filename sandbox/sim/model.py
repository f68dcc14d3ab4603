"""The ``Simulation``: everything the sandbox serves, plus the truth it recorded.

Kept apart from the engine so that the server, the truth report and tests depend on the data,
not on how it was produced. The engine is reachable only through ``advance`` (the live clock).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from sandbox.objects.account import AccountSetup
from sandbox.objects.webhooks import Webhooks
from sandbox.truth.ledger import TruthLedger

Obj = dict[str, Any]

# resource name in the URL -> Stripe object name (used in "No such customer" errors)
RESOURCES: dict[str, str] = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "coupons": "coupon",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "charges": "charge",
    "refunds": "refund",
    "disputes": "dispute",
    "events": "event",
    "webhook_endpoints": "webhook_endpoint",
    # served under /v1/billing_portal/configurations and /v1/tax/registrations (SERVED_AT)
    "billing_portal_configurations": "billing_portal.configuration",
    "tax_registrations": "tax.registration",
}
# where a resource whose name is not its URL is served
SERVED_AT: dict[str, str] = {
    "billing_portal_configurations": "/v1/billing_portal/configurations",
    "tax_registrations": "/v1/tax/registrations",
}


@dataclass(frozen=True, slots=True)
class Deletion:
    """An object deleted at ``at``, with its last state (what its ``*.deleted`` event carried)."""

    object: Obj
    at: int

    def stub(self) -> Obj:
        """What Stripe serves in its place: ``{"id", "object", "deleted": true}``."""
        return {"id": self.object["id"], "object": self.object["object"], "deleted": True}


class Clockwork(Protocol):
    """What ``advance`` needs from the engine: play events up to a time, say how many."""

    def run_until(self, end: int) -> int: ...


@dataclass
class Simulation:
    """Served objects in their state at ``now`` and the truth.

    ``subscriptions`` and ``invoices`` embed their items/lines truncated to 10 entries, exactly
    as served; the complete lists are in ``subscription_items`` and ``invoice_lines``.
    ``discounts`` holds the discount objects subscriptions and invoices name by id.
    ``account`` is the integration setup the portal, tax and endpoint objects were built from.
    ``deleted`` holds the deleted customers, products and coupons by id (no longer listed;
    a deleted customer is still retrieved, as Stripe's stub, and so is any expanded one).
    ``revision`` grows whenever served objects change (the server rebuilds its indexes then).
    """

    seed: int
    preset: str
    start: dt.date
    until: dt.date
    now: int
    currencies: tuple[str, ...]
    customers: dict[str, Obj] = field(default_factory=dict)
    products: dict[str, Obj] = field(default_factory=dict)
    prices: dict[str, Obj] = field(default_factory=dict)
    coupons: dict[str, Obj] = field(default_factory=dict)
    subscriptions: dict[str, Obj] = field(default_factory=dict)
    invoices: dict[str, Obj] = field(default_factory=dict)
    charges: dict[str, Obj] = field(default_factory=dict)
    refunds: dict[str, Obj] = field(default_factory=dict)
    disputes: dict[str, Obj] = field(default_factory=dict)
    events: dict[str, Obj] = field(default_factory=dict)
    webhook_endpoints: dict[str, Obj] = field(default_factory=dict)
    discounts: dict[str, Obj] = field(default_factory=dict)
    # the integration setup (sandbox.objects.account): `tax_settings` is Stripe's one object
    billing_portal_configurations: dict[str, Obj] = field(default_factory=dict)
    tax_registrations: dict[str, Obj] = field(default_factory=dict)
    tax_settings: Obj | None = None
    account: AccountSetup = field(default_factory=AccountSetup)
    subscription_items: dict[str, list[Obj]] = field(default_factory=dict)
    invoice_lines: dict[str, list[Obj]] = field(default_factory=dict)
    deleted: dict[str, Deletion] = field(default_factory=dict)
    ledger: TruthLedger = field(default_factory=TruthLedger)
    webhooks: Webhooks = field(default_factory=lambda: Webhooks([]))
    revision: int = 0
    engine: Clockwork | None = field(default=None, repr=False, compare=False)

    def resource(self, name: str) -> dict[str, Obj]:
        """The objects served under ``/v1/<name>`` (``name`` as in ``RESOURCES``)."""
        if name not in RESOURCES:
            raise KeyError(name)
        objects: dict[str, Obj] = getattr(self, name)
        return objects

    def counts(self) -> dict[str, int]:
        """How many objects each resource holds (for logs and reports)."""
        counts = {name: len(self.resource(name)) for name in RESOURCES}
        counts["subscription_items"] = sum(len(v) for v in self.subscription_items.values())
        counts["invoice_lines"] = sum(len(v) for v in self.invoice_lines.values())
        return counts

    def customer(self, customer_id: str) -> Obj:
        """A customer by id, deleted or not (then its last state)."""
        found = self.customers.get(customer_id)
        return found if found is not None else self.deleted[customer_id].object

    def advance(self, to: int) -> None:
        """Play the business forward to unix time ``to`` (the live clock); never backwards.

        Bumps ``revision`` when anything served changed: new happenings, or the pending
        webhook count of an event whose delayed delivery resolved meanwhile.
        """
        if to <= self.now:
            return
        fired = self.engine.run_until(to) if self.engine is not None else 0
        self.now = to
        if self.webhooks.refresh(to) or fired:
            self.revision += 1

    def delivery_success(self, event_id: str) -> bool:
        """Stripe's ``delivery_success`` for one event: delivered to every endpoint by now."""
        return self.webhooks.succeeded(event_id, self.now)

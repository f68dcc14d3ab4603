"""The ``Simulation``: everything the sandbox serves, plus the truth it recorded.

Kept apart from the engine so that the server, the truth report and tests depend on the data,
not on how it was produced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sandbox.truth import TruthLedger

Obj = dict[str, Any]

# resource name in the URL -> Stripe object name (used in "No such customer" errors)
RESOURCES: dict[str, str] = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "charges": "charge",
}


@dataclass
class Simulation:
    """Served objects in their final state at ``now`` (end of the ``until`` day) and the truth.

    ``subscriptions`` and ``invoices`` embed their items/lines truncated to 10 entries, exactly
    as served; the complete lists are in ``subscription_items`` and ``invoice_lines``.
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
    subscriptions: dict[str, Obj] = field(default_factory=dict)
    invoices: dict[str, Obj] = field(default_factory=dict)
    charges: dict[str, Obj] = field(default_factory=dict)
    subscription_items: dict[str, list[Obj]] = field(default_factory=dict)
    invoice_lines: dict[str, list[Obj]] = field(default_factory=dict)
    ledger: TruthLedger = field(default_factory=TruthLedger)

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

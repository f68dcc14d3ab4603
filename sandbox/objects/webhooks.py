"""Webhook endpoints and the fate of every delivery to them.

Nothing is ever sent: the endpoints' URLs are never contacted. Because outage windows (from the
preset and from incidents) are known before the simulation runs, each delivery's outcome is
decided when its event is emitted: the first attempt of Stripe's retry schedule that falls
outside every outage of that endpoint delivers it; if all attempts over three days fail, it is
never delivered. An event's ``pending_webhooks`` is then a function of the clock (deliveries not
yet resolved at ``now``) and is recomputed, for the few events an outage touched, whenever the
clock advances. Stripe reports a delivery that ran out of retries as pending 0 too, so the
per-event ``Delivery`` records are what tells the truth which events never arrived.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from sandbox.objects.ids import IdFactory

Obj = dict[str, Any]
HOUR = 3_600
# seconds after the event of each delivery attempt: back-off over Stripe's three days
RETRY_OFFSETS: tuple[int, ...] = (
    0, 300, 1_800, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 36 * HOUR, 48 * HOUR,
    60 * HOUR, 72 * HOUR,
)  # fmt: skip
_BILLING = (
    "invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_failed",
    "invoice.payment_succeeded", "invoice.marked_uncollectible", "charge.succeeded",
    "charge.failed", "charge.refunded", "refund.created",
)  # fmt: skip
_CRM = (
    "customer.created", "customer.subscription.created", "customer.subscription.updated",
    "customer.subscription.deleted", "customer.subscription.paused",
    "customer.subscription.resumed", "customer.subscription.trial_will_end",
)  # fmt: skip
_DISPUTES = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")
ENDPOINT_STATUSES = ("enabled", "disabled")


@dataclass(frozen=True)
class EndpointSpec:
    """A webhook endpoint as a preset or scenario file sets it: its url's last part, the events
    it takes (`*`: all), its status and its pinned API version (None: unpinned, it gets the
    account's default version)."""

    path: str
    description: str
    enabled_events: tuple[str, ...]
    status: str = "enabled"
    api_version: str | None = None


# The account's endpoints unless a preset or file says otherwise; incidents name endpoints by
# 1-based position. None is pinned, and only the warehouse (`*`) gets `invoice.upcoming`.
ENDPOINTS: tuple[EndpointSpec, ...] = (
    EndpointSpec("warehouse", "Data warehouse: every event", ("*",)),
    EndpointSpec("billing", "Billing service: invoices and charges", _BILLING),
    EndpointSpec("crm", "CRM: customers and subscriptions", _CRM),
    EndpointSpec("legacy-disputes", "Old disputes handler (disabled)", _DISPUTES, "disabled"),
)


def endpoint_objects(
    ids: IdFactory, created: int, specs: tuple[EndpointSpec, ...] = ENDPOINTS
) -> list[Obj]:
    """The account's webhook endpoints, in the order incidents number them (from 1)."""
    return [
        {
            "id": ids.new("we"),
            "object": "webhook_endpoint",
            "api_version": spec.api_version,
            "application": None,
            "created": created + n,
            "description": spec.description,
            "enabled_events": list(spec.enabled_events),
            "livemode": False,
            "metadata": {},
            "status": spec.status,
            "url": f"https://hooks.example.test/{spec.path}",
        }
        for n, spec in enumerate(specs)
    ]


@dataclass(slots=True)
class Delivery:
    """One event to one endpoint: resolved (delivered or given up) at ``resolved_at``."""

    endpoint: str
    delivered: bool
    resolved_at: int
    attempts: int


@dataclass
class Webhooks:
    """Endpoints, their outage windows, and the deliveries an outage delayed or lost."""

    endpoints: list[Obj]
    outages: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    deliveries: dict[str, list[Delivery]] = field(default_factory=dict)
    _unresolved: dict[str, Obj] = field(default_factory=dict)

    def add_outage(self, position: int, start: int, end: int) -> None:
        """Take endpoint number ``position`` (1-based) down over [start, end)."""
        if not 1 <= position <= len(self.endpoints):
            raise ValueError(f"no webhook endpoint {position} (there are {len(self.endpoints)})")
        windows = self.outages.setdefault(self.endpoints[position - 1]["id"], [])
        windows.append((start, end))
        windows.sort()

    def _down(self, endpoint: str, at: int) -> bool:
        windows = self.outages.get(endpoint, ())
        index = bisect_right(windows, (at, 1 << 62)) - 1
        return any(start <= at < end for start, end in windows[max(0, index - 2) : index + 1])

    def _deliver(self, endpoint: str, at: int) -> Delivery:
        for attempt, offset in enumerate(RETRY_OFFSETS, start=1):
            if not self._down(endpoint, at + offset):
                return Delivery(endpoint, True, at + offset, attempt)
        return Delivery(endpoint, False, at + RETRY_OFFSETS[-1], len(RETRY_OFFSETS))

    def dispatch(self, event: Obj, now: int) -> None:
        """Decide every delivery of a new event and set its ``pending_webhooks`` at ``now``."""
        delayed: list[Delivery] = []
        for endpoint in self.endpoints:
            if endpoint["status"] != "enabled" or not _subscribed(endpoint, event["type"]):
                continue
            if self.outages.get(endpoint["id"]):
                delivery = self._deliver(endpoint["id"], event["created"])
                if delivery.attempts > 1:
                    delayed.append(delivery)
        if delayed:
            self.deliveries[event["id"]] = delayed
            self._unresolved[event["id"]] = event
        event["pending_webhooks"] = sum(1 for d in delayed if d.resolved_at > now)

    def refresh(self, now: int) -> bool:
        """Recount ``pending_webhooks`` of delayed events at ``now``; True if any changed."""
        changed = False
        for event_id in list(self._unresolved):
            event = self._unresolved[event_id]
            deliveries = self.deliveries[event_id]
            pending = sum(1 for d in deliveries if d.resolved_at > now)
            if pending != event["pending_webhooks"]:
                event["pending_webhooks"] = pending
                changed = True
            if pending == 0:
                del self._unresolved[event_id]
        return changed

    def succeeded(self, event_id: str, now: int) -> bool:
        """Stripe's ``delivery_success``: every delivery of the event has arrived by ``now``."""
        return all(d.delivered and d.resolved_at <= now for d in self.deliveries.get(event_id, ()))


def _subscribed(endpoint: Obj, event_type: str) -> bool:
    enabled = endpoint["enabled_events"]
    return "*" in enabled or event_type in enabled

"""Which list filters each resource accepts, and how a request's filters become criteria.

A filter is a function from an object to the string it is grouped under, so ``ListIndex``
can group positions once and a request only picks groups (see ``sandbox.api.listing``).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from sandbox.api.errors import ApiError, bad_param
from sandbox.api.listing import FilterKey, ListIndex, Obj
from sandbox.api.params import LIST_PARAMS, PAGING_PARAMS, Params

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
MAX_EVENT_TYPES = 20
EVENT_RETENTION_SECONDS = 30 * 86_400  # Stripe lists and retrieves only the last 30 days


def _flag(obj: Obj) -> str:
    return "true" if obj["active"] else "false"


def _delivered(obj: Obj) -> str:
    """Stripe's ``delivery_success``: true once no endpoint is still owed the event."""
    return "true" if not obj.get("pending_webhooks") else "false"


def _field(name: str) -> FilterKey:
    return lambda obj: obj.get(name)


FILTERS: dict[str, dict[str, FilterKey]] = {
    "customers": {"email": _field("email")},
    "products": {"active": _flag},
    "prices": {
        "active": _flag,
        "product": _field("product"),
        "currency": _field("currency"),
        "type": _field("type"),
    },
    "subscriptions": {"status": _field("status"), "customer": _field("customer")},
    "invoices": {
        "customer": _field("customer"),
        "status": _field("status"),
        "subscription": lambda o: ((o.get("parent") or {}).get("subscription_details") or {}).get(
            "subscription"
        ),
    },
    "charges": {"customer": _field("customer"), "payment_intent": _field("payment_intent")},
    "refunds": {"charge": _field("charge"), "payment_intent": _field("payment_intent")},
    "disputes": {"charge": _field("charge"), "payment_intent": _field("payment_intent")},
    "events": {"type": _field("type"), "delivery_success": _delivered},
    "billing_portal_configurations": {
        "active": _flag,
        "is_default": lambda obj: "true" if obj["is_default"] else "false",
    },
    "tax_registrations": {"status": _field("status")},
}
# Parameters a list accepts besides its filters (Stripe lists webhook endpoints undated).
EXTRA_PARAMS: dict[str, frozenset[str]] = {"events": frozenset({"types"})}
# Lists Stripe serves without a `created` filter
UNDATED = frozenset({"webhook_endpoints", "billing_portal_configurations", "tax_registrations"})
REGISTRATION_STATUSES = frozenset({"active", "expired", "scheduled"})


def list_params(name: str) -> frozenset[str]:
    """Every parameter ``GET /v1/<name>`` accepts."""
    base = PAGING_PARAMS if name in UNDATED else LIST_PARAMS
    return base | FILTERS.get(name, {}).keys() | EXTRA_PARAMS.get(name, frozenset())


def criteria(name: str, params: Params, index: ListIndex) -> dict[str, frozenset[str]]:
    """The request's filters as param -> accepted values, with Stripe's defaults applied."""
    chosen = {
        param: frozenset({value})
        for param in FILTERS.get(name, {})
        if (value := params.get(param)) is not None
    }
    if name == "subscriptions":
        statuses = _subscription_statuses(params.get("status"))
        chosen.pop("status", None)
        if statuses is not None:
            chosen["status"] = statuses
    elif name == "events":
        _event_types(chosen, params, index)
    elif name == "tax_registrations" and "status" in chosen:
        status = params.get("status")
        if status == "all":  # Stripe's default
            chosen.pop("status")
        elif status not in REGISTRATION_STATUSES:
            known = ", ".join(sorted(REGISTRATION_STATUSES | {"all"}))
            raise bad_param("status", f"Invalid status: must be one of {known}")
    return chosen


def _subscription_statuses(status: str | None) -> frozenset[str] | None:
    """Stripe leaves canceled subscriptions out unless asked (``status=canceled|ended|all``);
    None means no status criterion at all."""
    if status is None:
        return _DEFAULT_SUBSCRIPTIONS
    if status == "all":
        return None
    if status not in _STATUS_VIEWS:
        known = ", ".join(sorted(SUBSCRIPTION_STATUSES | {"all", "ended"}))
        raise bad_param("status", f"Invalid status: must be one of {known}")
    return _STATUS_VIEWS[status]


def _event_types(chosen: dict[str, frozenset[str]], params: Params, index: ListIndex) -> None:
    """``type`` (``*`` wildcards, as in ``invoice.*``) or ``types[]`` (exact, up to 20)."""
    types = params.array("types")
    single = params.get("type")
    if single is not None and types is not None:
        raise ApiError(
            400, "You may only specify one of these parameters: type, types.", param="types"
        )
    if types is not None:
        if not 1 <= len(types) <= MAX_EVENT_TYPES:
            raise bad_param("types", f"You may pass between 1 and {MAX_EVENT_TYPES} types.")
        chosen["type"] = frozenset(types)
    elif single is not None and "*" in single:
        chosen["type"] = frozenset(t for t in index.values("type") if fnmatchcase(t, single))

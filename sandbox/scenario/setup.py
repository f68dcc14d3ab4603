"""A scenario file's integration setup: `[[portal]]`, `[tax]` and `[[webhook_endpoints]]`.

Each section is optional and says the whole of its subject: a file without `portal` has no
portal configuration (`portal = []` says so too), one without `tax` has Stripe's pending
settings and no registration, one without `webhook_endpoints` the sandbox's four default
endpoints (`sandbox.objects.webhooks.ENDPOINTS`). Values are checked as strictly as the rest of
the file (`scenario.fields`): a bad one is one `ScenarioError` naming its place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.objects.account import (
    PORTAL_FEATURES,
    REGISTRATION_STATUSES,
    TAX_BEHAVIORS,
    TAX_STATUSES,
    AccountSetup,
    PortalSpec,
    RegistrationSpec,
    TaxSpec,
)
from sandbox.objects.webhooks import ENDPOINT_STATUSES, ENDPOINTS, EndpointSpec
from sandbox.scenario.fields import Invalid, boolean, choice, listed, table, text
from sandbox.scenario.model import ScenarioError

SECTIONS = ("portal", "tax", "webhook_endpoints")


def _country(value: Any) -> str:
    """An ISO 3166-1 alpha-2 country code, upper case (`US`, `DE`)."""
    if not (isinstance(value, str) and len(value) == 2 and value.isascii() and value.isupper()):
        raise Invalid(f"expected a two-letter country code such as 'US', got {value!r}")
    return value


def _rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 100:
        raise Invalid(f"expected a percentage in (0, 100), got {value!r}")
    return float(value)


def _event(value: Any) -> str:
    """An event type (`invoice.paid`, `*`): dotted lower-case words."""
    event = text(value)
    parts = event.split(".")
    if event != "*" and not all(p and p.replace("_", "").isalnum() for p in parts):
        raise Invalid(f"expected an event type such as 'invoice.paid' or '*', got {value!r}")
    return event


_PORTAL = {
    "active": boolean,
    "is_default": boolean,
    "features": listed(choice(*PORTAL_FEATURES), at_least=0),
}
_REGISTRATION = {"country": _country, "status": choice(*REGISTRATION_STATUSES)}
_TAX = {
    "status": choice(*TAX_STATUSES),
    "tax_behavior": choice(*TAX_BEHAVIORS),
    "head_office_country": _country,
    "registrations": listed(lambda v: table(v, _REGISTRATION, ("country",)), at_least=0),
    "automatic_tax": boolean,
    "rate_percent": _rate,
}


def _name(value: Any) -> str:
    """An endpoint's name, the last part of its url: lower-case letters, digits and dashes."""
    name = text(value)
    if not all(c.isascii() and (c.islower() or c.isdigit() or c == "-") for c in name):
        raise Invalid(f"expected lower-case letters, digits and dashes, got {value!r}")
    return name


_ENDPOINT = {
    "name": _name,
    "description": text,
    "enabled_events": listed(_event),
    "status": choice(*ENDPOINT_STATUSES),
    "api_version": text,
}


def parse_setup(path: Path, doc: dict[str, Any]) -> AccountSetup:
    """The file's `AccountSetup` from its top-level tables (absent ones: the defaults)."""
    place = "portal"
    try:
        portal = tuple(_portal(v) for v in _array(doc.get("portal", []), "portal"))
        place = "[tax]"
        tax = _tax(table(doc.get("tax", {}), _TAX))
        place = "webhook_endpoints"
        raw = doc.get("webhook_endpoints")
        endpoints = ENDPOINTS if raw is None else _endpoints(_array(raw, "webhook_endpoints"))
    except Invalid as error:
        raise ScenarioError(path, place, str(error)) from None
    return AccountSetup(portal, tax, endpoints)


def _array(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid(f"expected an array of tables ([[{name}]]), got {value!r}")
    return value


def _portal(value: Any) -> PortalSpec:
    fields = table(value, _PORTAL)
    return PortalSpec(
        fields.get("active", True),
        fields.get("is_default", True),
        fields.get("features", PORTAL_FEATURES),
    )


def _tax(fields: dict[str, Any]) -> TaxSpec:
    registrations = tuple(
        RegistrationSpec(r["country"], r.get("status", "active"))
        for r in fields.get("registrations", ())
    )
    return TaxSpec(
        fields.get("status", "pending"),
        fields.get("tax_behavior"),
        fields.get("head_office_country", "US"),
        registrations,
        fields.get("automatic_tax", False),
        fields.get("rate_percent", 10.0),
    )


def _endpoints(raw: list[Any]) -> tuple[EndpointSpec, ...]:
    specs: list[EndpointSpec] = []
    for position, value in enumerate(raw):
        try:
            fields = table(value, _ENDPOINT, ("name", "enabled_events"))
        except Invalid as error:
            raise Invalid(f"[{position}]: {error}") from None
        if fields["name"] in {s.path for s in specs}:
            raise Invalid(f"[{position}]: name {fields['name']!r} is already an endpoint's")
        specs.append(
            EndpointSpec(
                fields["name"],
                fields.get("description", fields["name"]),
                fields["enabled_events"],
                fields.get("status", "enabled"),
                fields.get("api_version"),
            )
        )
    return tuple(specs)

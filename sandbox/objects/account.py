"""The account's integration setup as served: customer portal, Stripe Tax, webhook endpoints.

What a production checklist looks at (issue 20) and no business decision touches: a preset or a
scenario file says it (`AccountSetup`), and the objects are built once, when the account opens.
They draw nothing from the simulation's random streams: their ids come from a factory of their
own (`account_ids`), so an account configured otherwise keeps every other object identical.

Shapes follow the current API version (fixtures3.json): `billing_portal.configuration`,
`tax.settings` (a single object, no id) and `tax.registration`. An account with automatic tax
computes each invoice's tax as included in its prices (`taxed`): amounts, charges and the MRR
truth stay those of the same account without tax; only `total_taxes` and the `*_excluding_tax`
totals say what part of them is tax.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sandbox.objects.ids import IdFactory
from sandbox.objects.webhooks import ENDPOINTS, EndpointSpec

Obj = dict[str, Any]
DAY = 86_400
PORTAL_FEATURES = ("payment_method_update", "subscription_cancel", "invoice_history")
TAX_STATUSES = ("active", "pending")
TAX_BEHAVIORS = ("exclusive", "inclusive", "inferred_by_currency")
REGISTRATION_STATUSES = ("active", "expired", "scheduled")


@dataclass(frozen=True)
class PortalSpec:
    """One customer portal configuration: whether it is on, the default, and its features."""

    active: bool = True
    is_default: bool = True
    features: tuple[str, ...] = PORTAL_FEATURES  # of PORTAL_FEATURES, the ones enabled


@dataclass(frozen=True)
class RegistrationSpec:
    """A tax registration in a country; its dates follow its status (`registration_object`)."""

    country: str
    status: str = "active"


@dataclass(frozen=True)
class TaxSpec:
    """Stripe Tax: the settings' status, the registrations, and whether subscriptions (and so
    their invoices) use automatic tax, at `rate_percent` included in the prices."""

    status: str = "pending"
    tax_behavior: str | None = None
    head_office_country: str = "US"
    registrations: tuple[RegistrationSpec, ...] = ()
    automatic_tax: bool = False
    rate_percent: float = 10.0


@dataclass(frozen=True)
class AccountSetup:
    """The integration setup of one account. The default is a new Stripe account's: no portal
    configuration, tax settings pending without registrations; and the sandbox's four webhook
    endpoints (`sandbox.objects.webhooks.ENDPOINTS`)."""

    portal: tuple[PortalSpec, ...] = ()
    tax: TaxSpec = field(default_factory=TaxSpec)
    endpoints: tuple[EndpointSpec, ...] = ENDPOINTS


def account_ids(seed: int) -> IdFactory:
    """The setup's own ids: a stream no business decision draws from."""
    return IdFactory(random.Random(f"account:{seed}"))


def portal_object(ids: IdFactory, spec: PortalSpec, created: int) -> Obj:
    """A `billing_portal.configuration` with the spec's features enabled."""
    on = set(spec.features)
    return {
        "id": ids.new("bpc"),
        "object": "billing_portal.configuration",
        "active": spec.active,
        "application": None,
        "business_profile": {
            "headline": None,
            "privacy_policy_url": "https://saas.example.test/privacy",
            "terms_of_service_url": "https://saas.example.test/terms",
        },
        "created": created,
        "default_return_url": "https://saas.example.test/account",
        "features": {
            "customer_update": {"allowed_updates": ["email", "address"], "enabled": True},
            "invoice_history": {"enabled": "invoice_history" in on},
            "payment_method_update": {
                "enabled": "payment_method_update" in on,
                "payment_method_configuration": None,
            },
            "subscription_cancel": {
                "cancellation_reason": {"enabled": False, "options": []},
                "enabled": "subscription_cancel" in on,
                "mode": "at_period_end",
                "proration_behavior": "none",
            },
            "subscription_update": {
                "billing_cycle_anchor": None,
                "default_allowed_updates": [],
                "enabled": False,
                "proration_behavior": "none",
                "schedule_at_period_end": {"conditions": []},
                "trial_update_behavior": "end_trial",
            },
        },
        "is_default": spec.is_default,
        "livemode": False,
        "login_page": {"enabled": False, "url": None},
        "metadata": {},
        "name": None,
        "updated": created,
    }


_NO_ADDRESS: Obj = dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state"))


def tax_settings_object(spec: TaxSpec) -> Obj:
    """The account's `tax.settings` (Stripe serves one, without an id)."""
    pending: Obj = {"pending": {"missing_fields": []}}
    details: Obj = {"active": {}} if spec.status == "active" else pending
    return {
        "object": "tax.settings",
        "defaults": {"provider": "stripe", "tax_behavior": spec.tax_behavior, "tax_code": None},
        "head_office": {
            "address": {**_NO_ADDRESS, "country": spec.head_office_country},
        },
        "livemode": False,
        "status": spec.status,
        "status_details": details,
    }


def registration_object(ids: IdFactory, spec: RegistrationSpec, created: int, end: int) -> Obj:
    """A `tax.registration`: active since `created`; expired a week before `end`; or
    scheduled to start a month after it."""
    active_from = end + 30 * DAY if spec.status == "scheduled" else created
    expires_at = end - 7 * DAY if spec.status == "expired" else None
    return {
        "id": ids.new("taxreg"),
        "object": "tax.registration",
        "active_from": active_from,
        "country": spec.country,
        "country_options": {spec.country.lower(): {"type": "standard"}},
        "created": created,
        "expires_at": expires_at,
        "livemode": False,
        "status": spec.status,
    }


@dataclass
class SetupObjects:
    """What `setup_objects` built, by id (the tax settings alone: Stripe serves one)."""

    portal: dict[str, Obj]
    registrations: dict[str, Obj]
    tax_settings: Obj


def setup_objects(setup: AccountSetup, seed: int, created: int, end: int) -> SetupObjects:
    """The portal configurations, tax registrations and tax settings of `setup`, created at
    `created` (`end`: the simulated span's last second, which registration dates follow)."""
    ids = account_ids(seed)
    portal = [portal_object(ids, spec, created) for spec in setup.portal]
    registrations = [
        registration_object(ids, spec, created, end) for spec in setup.tax.registrations
    ]
    return SetupObjects(
        {o["id"]: o for o in portal},
        {o["id"]: o for o in registrations},
        tax_settings_object(setup.tax),
    )


AUTOMATIC_TAX_ON: Obj = {"disabled_reason": None, "enabled": True, "liability": {"type": "self"}}


def taxed(invoice: Obj, rate_percent: float) -> Obj:
    """The fields an invoice under automatic tax changes: the tax included in its total."""
    total = int(invoice["total"])
    tax = round(max(total, 0) * rate_percent / (100 + rate_percent))
    return {
        "automatic_tax": {**AUTOMATIC_TAX_ON, "provider": "stripe", "status": "complete"},
        "subtotal_excluding_tax": int(invoice["subtotal"]) - tax,
        "total_excluding_tax": total - tax,
        "total_taxes": [
            {
                "amount": tax,
                "tax_behavior": "inclusive",
                "tax_rate_details": None,
                "taxability_reason": "standard_rated",
                "taxable_amount": total - tax,
                "type": "tax_rate_details",
            }
        ],
    }

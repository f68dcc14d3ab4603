"""Builders for a served subscription and its items.

Shapes follow the current API version (fixtures3.json): billing periods live on each
subscription item, filled in by the engine at each renewal (``sandbox.sim.invoicing``).
"""

from __future__ import annotations

from typing import Any

from sandbox.objects.catalog import plan_object
from sandbox.objects.ids import IdFactory
from sandbox.objects.shared import nested_list


def subscription_item_object(
    ids: IdFactory, subscription: str, price: dict[str, Any], quantity: int, created: int
) -> dict[str, Any]:
    """A subscription item; its period is filled in by the engine at each renewal."""
    item: dict[str, Any] = {
        "id": ids.new("si"),
        "object": "subscription_item",
        "billing_thresholds": None,
        "created": created,
        "current_period_end": created,
        "current_period_start": created,
        "discounts": [],
        "metadata": {},
        "plan": plan_object(price),
        "price": price,
        "quantity": quantity,
        "subscription": subscription,
        "tax_rates": [],
    }
    if price["recurring"]["usage_type"] == "metered":
        item["quantity"] = None  # usage decides what is billed (Stripe omits the field)
    return item


def subscription_object(
    subscription: str, customer: dict[str, Any], currency: str, created: int
) -> dict[str, Any]:
    """A new subscription; the engine sets status, items, trial and anchor right after."""
    return {
        "id": subscription,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": created,
        "billing_cycle_anchor_config": None,
        "billing_mode": {"type": "classic"},
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "customer": customer["id"],
        "days_until_due": None,
        "default_payment_method": customer["invoice_settings"]["default_payment_method"],
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": nested_list([], f"/v1/subscription_items?subscription={subscription}"),
        "latest_invoice": None,
        "livemode": False,
        "metadata": {},
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": created,
        "status": "incomplete",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }

"""Builders for the served billing objects: subscriptions, their items, invoices and lines.

Shapes follow the current API version (fixtures3.json): billing periods live on each
subscription item, an invoice points at its subscription through
``parent.subscription_details``, and a line names its price through ``pricing.price_details``.
Nested lists are embedded truncated to their first ``NESTED_LIMIT`` entries, like Stripe.
"""

from __future__ import annotations

from typing import Any

from sandbox.catalog import MINOR_UNITS, plan_object
from sandbox.ids import IdFactory

NESTED_LIMIT = 10


def nested_list(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """An embedded list: the first ``NESTED_LIMIT`` entries, ``has_more`` for the rest."""
    return {
        "object": "list",
        "data": data[:NESTED_LIMIT],
        "has_more": len(data) > NESTED_LIMIT,
        "url": url,
    }


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


def line_object(
    ids: IdFactory,
    invoice: str,
    item: dict[str, Any],
    period: tuple[int, int],
    *,
    amount: int,
    quantity: int,
    description: str,
    proration: bool = False,
) -> dict[str, Any]:
    """An invoice line billing ``item`` for ``period``; discounts are filled in afterwards."""
    price = item["price"]
    unit = price["unit_amount_decimal"] if price["unit_amount_decimal"] is not None else None
    return {
        "id": ids.new("il"),
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice,
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": ids.new("ii") if proration else None,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": item["subscription"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": unit if unit is not None else str(amount // max(quantity, 1)),
        },
        "quantity": quantity,
        "subtotal": amount,
        "taxes": [],
    }


def line_description(price: dict[str, Any], quantity: int, name: str, *, trial: bool) -> str:
    """Stripe's wording for a subscription line ("3 × Team (at 15.00 USD / month)")."""
    if trial:
        return f"Trial period for {name}"
    if price["unit_amount"] is None:
        return f"{quantity} × {name} (tiered)"
    major = price["unit_amount"] / MINOR_UNITS[price["currency"]]
    decimals = 2 if MINOR_UNITS[price["currency"]] > 1 else 0
    unit = f"{major:,.{decimals}f} {price['currency'].upper()}"
    return f"{quantity} × {name} (at {unit} / {price['recurring']['interval']})"

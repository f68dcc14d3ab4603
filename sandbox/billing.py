"""Builders for the served billing objects: subscriptions, their items, invoices and lines.

Shapes follow the current API version (fixtures3.json): billing periods live on each
subscription item, an invoice points at its subscription through
``parent.subscription_details``, and a line names its price through ``pricing.price_details``.
Nested lists are embedded truncated to their first ``NESTED_LIMIT`` entries, like Stripe.
"""

from __future__ import annotations

import functools
from typing import Any

from sandbox.catalog import MINOR_UNITS, plan_object
from sandbox.ids import IdFactory
from sandbox.shared import EMPTY_DICT, EMPTY_LIST, Parts

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
    parts: Parts | None = None,
) -> dict[str, Any]:
    """An invoice line billing ``item`` for ``period``; discounts are filled in afterwards.

    ``parts`` (the subscription's ``Parts``) shares the nested values that depend only on the
    item, its price and the period between the subscription's lines; empty lists and dicts are
    the shared ones of ``sandbox.shared`` (replaced, never mutated).
    """
    price = item["price"]
    unit = price["unit_amount_decimal"]
    if unit is None:
        unit = str(amount // max(quantity, 1))
    parts = Parts() if parts is None else parts
    if proration:
        parent = _line_parent(item["subscription"], item["id"], ids.new("ii"))
    else:
        parent = parts.get_or_make(
            ("line", item["id"]), _line_parent, item["subscription"], item["id"], None
        )
    return {
        "id": ids.new("il"),
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": description,
        "discount_amounts": EMPTY_LIST,
        "discountable": True,
        "discounts": EMPTY_LIST,
        "invoice": invoice,
        "livemode": False,
        "metadata": EMPTY_DICT,
        "parent": parent,
        "period": parts.period(period),
        "pretax_credit_amounts": EMPTY_LIST,
        "pricing": parts.get_or_make(("pricing", price["id"], unit), _pricing, price, unit),
        "quantity": quantity,
        "subtotal": amount,
        "taxes": EMPTY_LIST,
    }


_NO_CREDITS: dict[str, Any] = {"credited_items": None}


def _line_parent(subscription: str, item: str, invoice_item: str | None) -> dict[str, Any]:
    return {
        "invoice_item_details": None,
        "subscription_item_details": {
            "invoice_item": invoice_item,
            "proration": invoice_item is not None,
            "proration_details": _NO_CREDITS,
            "subscription": subscription,
            "subscription_item": item,
        },
        "type": "subscription_item_details",
    }


def _pricing(price: dict[str, Any], unit: str) -> dict[str, Any]:
    return {
        "price_details": {"price": price["id"], "product": price["product"]},
        "type": "price_details",
        "unit_amount_decimal": unit,
    }


def line_description(price: dict[str, Any], quantity: int, name: str, *, trial: bool) -> str:
    """Stripe's wording for a subscription line ("3 × Team (at 15.00 USD / month)")."""
    if trial:
        return f"Trial period for {name}"
    interval = price["recurring"]["interval"]
    return _description(price["unit_amount"], price["currency"], interval, quantity, name)


@functools.lru_cache(maxsize=16_384)
def _description(unit_amount: int | None, currency: str, interval: str, qty: int, name: str) -> str:
    """Cached: a few thousand distinct wordings serve a million lines (one string each)."""
    if unit_amount is None:
        return f"{qty} × {name} (tiered)"
    major = unit_amount / MINOR_UNITS[currency]
    decimals = 2 if MINOR_UNITS[currency] > 1 else 0
    unit = f"{major:,.{decimals}f} {currency.upper()}"
    return f"{qty} × {name} (at {unit} / {interval})"

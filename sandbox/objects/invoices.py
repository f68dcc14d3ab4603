"""Invoices and their lines: created per billing period, then paid, or left open while dunning
retries (issued by ``sandbox.sim.invoicing``).

Stripe's invoice ``period_start``/``period_end`` describe the *previous* period (when pending
usage was collected), not the service period being billed; the lines carry the service period.
The simulation reproduces that quirk on purpose so that a consumer using the wrong field shows.
An invoice points at its subscription through ``parent.subscription_details``, and a line names
its price through ``pricing.price_details`` (the current API version, fixtures3.json).
"""

from __future__ import annotations

import functools
from typing import Any

from sandbox.objects.catalog import MINOR_UNITS
from sandbox.objects.ids import IdFactory
from sandbox.objects.shared import EMPTY_DICT, EMPTY_LIST, Parts, nested_list

# Fields every simulated invoice shares. Shared by reference: replace them, never mutate.
_CONSTANT: dict[str, Any] = {
    "object": "invoice",
    "account_country": "US",
    "account_name": "Paylens Sandbox SaaS",
    "amount_shipping": 0,
    "application": None,
    "automatic_tax": {
        "disabled_reason": None,
        "enabled": False,
        "liability": None,
        "provider": None,
        "status": None,
    },
    "collection_method": "charge_automatically",
    "customer_tax_exempt": "none",
    "default_payment_method": None,
    "description": None,
    "discounts": [],
    "due_date": None,
    "ending_balance": 0,
    "hosted_invoice_url": None,
    "invoice_pdf": None,
    "issuer": {"type": "self"},
    "livemode": False,
    "metadata": {},
    "post_payment_credit_notes_amount": 0,
    "pre_payment_credit_notes_amount": 0,
    "receipt_number": None,
    "starting_balance": 0,
    "statement_descriptor": None,
    "total_discount_amounts": [],
    "total_pretax_credit_amounts": [],
    "total_taxes": [],
}


def invoice_object(
    invoice: str,
    customer: dict[str, Any],
    subscription: dict[str, Any],
    *,
    billing_reason: str,
    created: int,
    period: tuple[int, int],
    lines: list[dict[str, Any]],
    discount: str | None = None,
    parts: Parts | None = None,
) -> dict[str, Any]:
    """A finalized (``open``) invoice for ``lines``; payment outcomes update it afterwards.

    ``discount`` names the discount whose ``discount_amounts`` the lines already carry; a
    negative total (a downgrade credit larger than the charge) is due as 0, like Stripe's
    credit to the customer balance. ``parts`` (the subscription's) shares ``parent`` between
    its invoices.
    """
    subtotal = sum(line["amount"] for line in lines)
    off = sum(d["amount"] for line in lines for d in line["discount_amounts"])
    total = subtotal - off
    sequence = customer["next_invoice_sequence"]
    customer["next_invoice_sequence"] = sequence + 1
    return {
        **_CONSTANT,
        "id": invoice,
        "amount_due": max(total, 0),
        "amount_paid": 0,
        "amount_remaining": max(total, 0),
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "billing_reason": billing_reason,
        "created": created,
        "currency": subscription["currency"],
        "customer": customer["id"],
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "discounts": EMPTY_LIST if discount is None else [discount],
        "effective_at": created,
        "lines": nested_list(lines, f"/v1/invoices/{invoice}/lines"),
        "next_payment_attempt": None,
        "number": f"{customer['invoice_prefix']}-{sequence:04d}",
        "parent": (Parts() if parts is None else parts).get_or_make(
            "invoice_parent", _parent, subscription["id"]
        ),
        "period_end": period[1],
        "period_start": period[0],
        "status": "open",
        "status_transitions": _transitions(created),
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "total": total,
        "total_discount_amounts": EMPTY_LIST
        if discount is None
        else [{"amount": off, "discount": discount}],
        "total_excluding_tax": total,
        "webhooks_delivered_at": created,
    }


def _parent(subscription: str) -> dict[str, Any]:
    return {
        "quote_details": None,
        "subscription_details": {"metadata": EMPTY_DICT, "subscription": subscription},
        "type": "subscription_details",
    }


def _transitions(finalized: int | None, **moments: int) -> dict[str, int | None]:
    transitions: dict[str, int | None] = {
        "finalized_at": finalized,
        "marked_uncollectible_at": None,
        "paid_at": None,
        "voided_at": None,
    }
    transitions.update(moments)
    return transitions


def draft_view(invoice: dict[str, Any]) -> dict[str, Any]:
    """How the invoice looked as a draft, before finalisation (``invoice.created``'s snapshot)."""
    return {
        **invoice,
        "status": "draft",
        "number": None,
        "status_transitions": _transitions(None),
    }


def paid_changes(invoice: dict[str, Any], at: int) -> dict[str, Any]:
    """The fields a successful payment of the whole amount due changes."""
    return {
        "status": "paid",
        "amount_paid": invoice["amount_due"],
        "amount_remaining": 0,
        "auto_advance": False,
        "next_payment_attempt": None,
        "status_transitions": _transitions(invoice["created"], paid_at=at),
    }


def uncollectible_changes(invoice: dict[str, Any], at: int) -> dict[str, Any]:
    """The fields marking an invoice uncollectible after dunning gave up."""
    return {
        "status": "uncollectible",
        "auto_advance": False,
        "next_payment_attempt": None,
        "status_transitions": _transitions(invoice["created"], marked_uncollectible_at=at),
    }


def attempt_changes(invoice: dict[str, Any], next_attempt: int | None) -> dict[str, Any]:
    """One more payment attempt; ``next_attempt`` is when dunning will try again, if ever."""
    return {
        "attempt_count": invoice["attempt_count"] + 1,
        "attempted": True,
        "next_payment_attempt": next_attempt,
    }


# --- lines ---


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
    the shared ones of ``sandbox.objects.shared`` (replaced, never mutated).
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

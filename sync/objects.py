"""Typed rows from Stripe objects: one function per warehouse table, plain dict in, dict out.

Each function reads the fields the metrics need from the current API version's nesting (see the
warehouse DDL in schema.sql for what each column means) and leaves everything else in `raw`.
Timestamps stay unix seconds here; the store turns them into UTC TIMESTAMPs in bulk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Row = dict[str, Any]


def _get(obj: Obj | None, *path: str) -> Any:
    """obj[path[0]][path[1]]…, or None as soon as a step is missing or null."""
    value: Any = obj
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _ref(value: Any) -> str | None:
    """An id whether the field came as an id or as an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def customer_row(obj: Obj) -> Row:
    return {
        "id": obj["id"],
        "created": obj["created"],
        "email": obj.get("email"),
        "name": obj.get("name"),
        "currency": obj.get("currency"),
        "deleted": bool(obj.get("deleted", False)),
    }


def product_row(obj: Obj) -> Row:
    return {
        "id": obj["id"],
        "created": obj["created"],
        "name": obj.get("name"),
        "active": obj.get("active"),
    }


def price_row(obj: Obj) -> Row:
    recurring = obj.get("recurring") or {}
    return {
        "id": obj["id"],
        "created": obj["created"],
        "product": _ref(obj.get("product")),
        "currency": obj["currency"],
        "unit_amount": obj.get("unit_amount"),
        "billing_scheme": obj.get("billing_scheme"),
        "tiers_mode": obj.get("tiers_mode"),
        "type": obj.get("type"),
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"),
        "usage_type": recurring.get("usage_type"),
        "nickname": obj.get("nickname"),
        "active": obj.get("active"),
    }


def subscription_row(obj: Obj) -> Row:
    return {
        "id": obj["id"],
        "created": obj["created"],
        "customer": _ref(obj["customer"]),
        "status": obj["status"],
        "currency": obj["currency"],
        "start_date": obj.get("start_date"),
        "trial_start": obj.get("trial_start"),
        "trial_end": obj.get("trial_end"),
        "cancel_at_period_end": obj.get("cancel_at_period_end"),
        "cancel_at": obj.get("cancel_at"),
        "canceled_at": obj.get("canceled_at"),
        "ended_at": obj.get("ended_at"),
        "cancellation_reason": _get(obj, "cancellation_details", "reason"),
    }


def subscription_item_row(obj: Obj) -> Row:
    return {
        "id": obj["id"],
        "subscription": obj["subscription"],
        "price": _ref(obj["price"]),
        "quantity": obj.get("quantity"),
        "created": obj["created"],
        "current_period_start": obj.get("current_period_start"),
        "current_period_end": obj.get("current_period_end"),
    }


def invoice_row(obj: Obj) -> Row:
    return {
        "id": obj["id"],
        "created": obj["created"],
        "customer": _ref(obj.get("customer")),
        "subscription": _ref(_get(obj, "parent", "subscription_details", "subscription")),
        "status": obj.get("status"),
        "billing_reason": obj.get("billing_reason"),
        "currency": obj["currency"],
        "subtotal": obj.get("subtotal"),
        "total": obj.get("total"),
        "amount_due": obj.get("amount_due"),
        "amount_paid": obj.get("amount_paid"),
        "attempt_count": obj.get("attempt_count"),
        "period_start": obj.get("period_start"),
        "period_end": obj.get("period_end"),
    }


def invoice_line_row(obj: Obj) -> Row:
    details = _get(obj, "parent", "subscription_item_details") or {}
    invoice_item = _get(obj, "parent", "invoice_item_details") or {}
    return {
        "id": obj["id"],
        "invoice": obj["invoice"],
        "subscription": _ref(details.get("subscription") or invoice_item.get("subscription")),
        "subscription_item": details.get("subscription_item"),
        "price": _ref(_get(obj, "pricing", "price_details", "price")),
        "quantity": obj.get("quantity"),
        "amount": obj["amount"],
        "currency": obj["currency"],
        "period_start": _get(obj, "period", "start"),
        "period_end": _get(obj, "period", "end"),
        "proration": details.get("proration", invoice_item.get("proration")),
    }


def charge_row(obj: Obj) -> Row:
    card = _get(obj, "payment_method_details", "card") or {}
    outcome = obj.get("outcome") or {}
    return {
        "id": obj["id"],
        "created": obj["created"],
        "customer": _ref(obj.get("customer")),
        "payment_intent": _ref(obj.get("payment_intent")),
        "amount": obj["amount"],
        "amount_refunded": obj.get("amount_refunded"),
        "currency": obj["currency"],
        "status": obj["status"],
        "paid": obj.get("paid"),
        "failure_code": obj.get("failure_code"),
        "outcome_type": outcome.get("type"),
        "outcome_reason": outcome.get("reason"),
        "network_decline_code": outcome.get("network_decline_code"),
        "card_brand": card.get("brand"),
        "card_country": card.get("country"),
        "card_funding": card.get("funding"),
    }


ROW_BUILDERS: dict[str, Callable[[Obj], Row]] = {
    "customers": customer_row,
    "products": product_row,
    "prices": price_row,
    "subscriptions": subscription_row,
    "subscription_items": subscription_item_row,
    "invoices": invoice_row,
    "invoice_lines": invoice_line_row,
    "charges": charge_row,
}

# Nested lists a parent embeds: parent table -> (attribute, child table, child's parent column).
NESTED: dict[str, tuple[str, str, str]] = {
    "subscriptions": ("items", "subscription_items", "subscription"),
    "invoices": ("lines", "invoice_lines", "invoice"),
}

"""Refunds: full or partial, a while after a successful charge, and what they change on it."""

from __future__ import annotations

from typing import Any

from sandbox.objects.ids import IdFactory

Obj = dict[str, Any]
REASONS = ("requested_by_customer", "requested_by_customer", "duplicate", None)


def refund_object(
    ids: IdFactory, charge: Obj, amount: int, created: int, reason: str | None
) -> Obj:
    """A succeeded card refund of ``amount`` (minor units) of ``charge``."""
    return {
        "id": ids.new("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": ids.new("txn"),
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def refunded_changes(charge: Obj, refund: Obj, refunds: list[Obj]) -> Obj:
    """The charge's fields after ``refund``: amount refunded, whether in full, the list."""
    refunded = charge["amount_refunded"] + refund["amount"]
    return {
        "amount_refunded": refunded,
        "refunded": refunded >= charge["amount"],
        "refunds": {
            "object": "list",
            "data": list(refunds),
            "has_more": False,
            "url": f"/v1/charges/{charge['id']}/refunds",
        },
    }

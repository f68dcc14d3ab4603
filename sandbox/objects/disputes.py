"""Disputes: opened on a successful charge, answered with evidence or not, then won or lost.

Stripe gives the merchant until ``evidence_details.due_by`` (7 to 21 days here, by network) to
respond. With evidence the dispute goes ``needs_response`` → ``under_review`` → ``won``/``lost``;
without, it is lost at the deadline.
"""

from __future__ import annotations

from typing import Any

from sandbox.objects.ids import IdFactory

Obj = dict[str, Any]
# reason -> (weight, Visa network reason code)
REASONS: dict[str, tuple[float, str]] = {
    "fraudulent": (40, "10.4"),
    "subscription_canceled": (20, "13.2"),
    "product_not_received": (10, "13.1"),
    "unrecognized": (15, "10.4"),
    "duplicate": (5, "12.6.1"),
    "general": (10, "13.7"),
}
_EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy",
    "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
    "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
    "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
    "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_documentation", "shipping_tracking_number",
    "uncategorized_file", "uncategorized_text",
)  # fmt: skip


def dispute_object(ids: IdFactory, charge: Obj, reason: str, created: int, due_by: int) -> Obj:
    """A new dispute of the whole charge, awaiting the merchant's response."""
    card = charge["payment_method_details"]["card"]
    evidence: Obj = dict.fromkeys(_EVIDENCE_FIELDS)
    evidence["enhanced_evidence"] = {}
    return {
        "id": ids.new("dp"),
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "evidence": evidence,
        "evidence_details": evidence_details(due_by, submitted=False),
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "case_type": "chargeback",
                "network_reason_code": REASONS[reason][1],
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


def evidence_details(due_by: int, *, submitted: bool, past_due: bool = False) -> Obj:
    """``evidence_details`` before or after the merchant submitted evidence."""
    return {
        "due_by": due_by,
        "enhanced_eligibility": {},
        "has_evidence": submitted,
        "past_due": past_due,
        "submission_count": 1 if submitted else 0,
    }


def submitted_changes(dispute: Obj, at: int, customer_email: str) -> Obj:
    """The merchant answers: evidence filled in, status ``under_review``."""
    evidence = dict(dispute["evidence"])
    evidence.update(
        customer_email_address=customer_email,
        service_date=str(at),
        uncategorized_text="Customer used the service during the billed period.",
    )
    return {
        "evidence": evidence,
        "evidence_details": evidence_details(dispute["evidence_details"]["due_by"], submitted=True),
        "status": "under_review",
    }

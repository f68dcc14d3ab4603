"""Card payment attempts: whether a charge succeeds, and how Stripe would describe a decline.

Each decline kind carries the ``failure_code``, ``outcome`` and network fields Stripe reports for
it, so decline breakdowns by code, outcome type and network status look like a real account's.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass
from typing import Any

from sandbox.objects.ids import IdFactory
from sandbox.objects.people import Card
from sandbox.objects.shared import EMPTY_LIST, Parts


@dataclass(frozen=True)
class Decline:
    """One way a charge can fail, with the fields Stripe fills in for it."""

    failure_code: str
    failure_message: str
    outcome_type: str
    reason: str
    network_status: str
    network_decline_code: str | None
    risk_level: str
    seller_message: str


_ISSUER = "issuer_declined"


def _issuer_decline(failure_code: str, message: str, reason: str, network_code: str) -> Decline:
    """A decline by the card issuer, described the way Stripe describes it."""
    seller = (
        "The bank did not return any further details with this decline."
        if reason == "generic_decline"
        else f"The bank returned the decline code `{reason}`."
    )
    return Decline(
        failure_code,
        message,
        _ISSUER,
        reason,
        "declined_by_network",
        network_code,
        "normal",
        seller,
    )


_DECLINED = "Your card was declined."
DECLINES: tuple[tuple[Decline, float], ...] = (
    (_issuer_decline("card_declined", _DECLINED, "generic_decline", "05"), 30),
    (_issuer_decline("card_declined", _DECLINED, "do_not_honor", "05"), 12),
    (_issuer_decline("insufficient_funds", "Your card has insufficient funds.",
                     "insufficient_funds", "51"), 25),
    (_issuer_decline("expired_card", "Your card has expired.", "expired_card", "54"), 12),
    (_issuer_decline("incorrect_cvc", "Your card's security code is incorrect.",
                     "incorrect_cvc", "N7"), 7),
    (_issuer_decline("processing_error", "An error occurred while processing your card.",
                     "processing_error", "96"), 5),
    (Decline("card_declined", _DECLINED, "blocked", "highest_risk_level", "not_sent_to_network",
             None, "highest", "Stripe blocked this payment as too risky."), 9),
)  # fmt: skip


# decline code (``outcome.reason``) -> its kind: what a scenario or an incident may name
DECLINE_BY_CODE: dict[str, Decline] = {}
for _kind, _ in DECLINES:
    DECLINE_BY_CODE.setdefault(_kind.reason, _kind)
DECLINE_CODES = tuple(DECLINE_BY_CODE)

_DECLINE_KINDS = [d for d, _ in DECLINES]
_DECLINE_WEIGHTS = list(itertools.accumulate(w for _, w in DECLINES))
BRAND_FACTOR = {"visa": 1.0, "mastercard": 0.85, "amex": 1.4}
FUNDING_FACTOR = {"credit": 0.9, "debit": 1.25}
LARGE_AMOUNT_USD_CENTS = 30_000  # above this (in usd terms) declines are 1.6 times as likely


def draw_decline(rng: random.Random) -> Decline:
    """A decline kind, weighted by how often each occurs."""
    return rng.choices(_DECLINE_KINDS, cum_weights=_DECLINE_WEIGHTS)[0]


def draw_first_attempt(rng: random.Random, rate: float, named: Decline | None) -> Decline | None:
    """Declined with probability ``rate``: with ``named`` if given, else a kind drawn as usual.

    The kind is drawn either way, so naming a code changes how charges fail, not which ones do.
    """
    if rng.random() >= rate:
        return None
    drawn = draw_decline(rng)
    return named or drawn


def decline_rate(base: float, card: Card, country_factor: float, amount_usd_cents: int) -> float:
    """How likely a first attempt on this card for this amount is to be declined."""
    rate = base * country_factor * BRAND_FACTOR[card.brand] * FUNDING_FACTOR[card.funding]
    return rate * 1.6 if amount_usd_cents > LARGE_AMOUNT_USD_CENTS else rate


# Fields every simulated charge shares. Shared by reference: replace them, never mutate.
_CONSTANT: dict[str, Any] = {
    "object": "charge",
    "amount_refunded": 0,
    "application": None,
    "application_fee": None,
    "application_fee_amount": None,
    "calculated_statement_descriptor": "PAYLENS SANDBOX",
    "disputed": False,
    "failure_balance_transaction": None,
    "fraud_details": {},
    "livemode": False,
    "metadata": {},
    "on_behalf_of": None,
    "receipt_email": None,
    "receipt_number": None,
    "receipt_url": None,
    "refunded": False,
    "review": None,
    "shipping": None,
    "source_transfer": None,
    "statement_descriptor": None,
    "statement_descriptor_suffix": None,
    "transfer_data": None,
    "transfer_group": None,
}


def charge_object(
    ids: IdFactory,
    rng: random.Random,
    *,
    card: Card,
    customer: str,
    amount: int,
    currency: str,
    payment_intent: str,
    description: str | None,
    created: int,
    decline: Decline | None,
    parts: Parts | None = None,
) -> dict[str, Any]:
    """A served ``charge``: succeeded when ``decline`` is None, failed with it otherwise.

    The card's ``billing_details`` and ``payment_method_details`` are shared by the charges of
    one subscription (``parts``), the ``outcome`` by every charge with the same one.
    """
    ok = decline is None
    charge_id = ids.new("ch")
    shared = Parts() if parts is None else parts
    return {
        **_CONSTANT,
        "id": charge_id,
        "amount": amount,
        "amount_captured": amount if ok else 0,
        "balance_transaction": ids.new("txn") if ok else None,
        "billing_details": shared.get_or_make("billing_details", _billing_details, card),
        "captured": ok,
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "failure_code": None if decline is None else decline.failure_code,
        "failure_message": None if decline is None else decline.failure_message,
        "outcome": _outcome(rng, decline),
        "paid": ok,
        "payment_intent": payment_intent,
        "payment_method": card.payment_method,
        "payment_method_details": shared.get_or_make("card", _method_details, card),
        "refunds": {
            "object": "list",
            "data": EMPTY_LIST,
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        },
        "status": "succeeded" if ok else "failed",
    }


def _billing_details(card: Card) -> dict[str, Any]:
    address = dict.fromkeys(("city", "line1", "line2", "postal_code", "state"))
    address["country"] = card.country
    return {"address": address, "email": None, "name": None, "phone": None, "tax_id": None}


def _outcome(rng: random.Random, decline: Decline | None) -> dict[str, Any]:
    """Drawn as before, then taken from the few hundred distinct outcomes (shared)."""
    if decline is None:
        elevated = rng.random() < 0.04
        return _approved(elevated, rng.randint(66, 74) if elevated else rng.randint(2, 64))
    score = rng.randint(76, 99) if decline.risk_level == "highest" else rng.randint(2, 64)
    return _declined(decline, score)


@functools.lru_cache(maxsize=1_024)
def _approved(elevated: bool, score: int) -> dict[str, Any]:
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": "elevated_risk_level" if elevated else None,
        "risk_level": "elevated" if elevated else "normal",
        "risk_score": score,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }


@functools.lru_cache(maxsize=1_024)
def _declined(decline: Decline, score: int) -> dict[str, Any]:
    return {
        "advice_code": "try_again_later" if decline.outcome_type == _ISSUER else None,
        "network_advice_code": None,
        "network_decline_code": decline.network_decline_code,
        "network_status": decline.network_status,
        "reason": decline.reason,
        "risk_level": decline.risk_level,
        "risk_score": score,
        "seller_message": decline.seller_message,
        "type": decline.outcome_type,
    }


def _method_details(card: Card) -> dict[str, Any]:
    return {"card": _card_details(card), "type": "card"}


def _card_details(card: Card) -> dict[str, Any]:
    return {
        "amount_authorized": None,
        "brand": card.brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": card.country,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "last4": card.last4,
        "mandate": None,
        "network": card.brand,
        "network_token": {"used": False},
        "three_d_secure": None,
        "wallet": None,
    }

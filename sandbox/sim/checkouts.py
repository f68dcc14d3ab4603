"""Checkout waves (an incident): one-off card payments by existing customers, many an hour.

A preset's business makes well under one card payment an hour, too few for a payment-success
alert to see a decline spike. A wave makes ``per_hour`` of them for its hours: one in each
equal slot of the hour, at a drawn second of it, by a customer drawn from those who exist at
the start of that hour and pay with a card (matching the wave's brand and country, if given),
for one of a few checkout price points in the customer's currency.

Each payment is what a checkout makes here: a new PaymentIntent id and one charge on it, with
``charge.succeeded`` or ``charge.failed``. It fails with probability ``rate``, or a matching
decline spike's rate if higher (and with its code), as renewals do; a failed checkout is not
retried. No invoice or subscription is touched, and no refund or dispute follows, so MRR and
churn are as without the wave.

Everything the wave draws comes from its own stream and its ids from a branch of the id
factory (``IdFactory.branch``), so the rest of the business, ids included, is exactly what it
is without the wave; only event ids after the wave's start differ. Every payment is queued on
the engine's heap at its own second, so a live clock never serves one before its ``created``.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox.objects.catalog import convert
from sandbox.objects.ids import IdFactory
from sandbox.objects.payments import charge_object, draw_first_attempt
from sandbox.objects.people import Person
from sandbox.objects.shared import Obj, Parts
from sandbox.sim.incidents import Incident, spiked

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine

HOUR = 3_600
# a checkout's amount: usd cents (converted to the customer's currency) and how often
PRICE_POINTS: tuple[tuple[int, float], ...] = ((1_900, 4), (4_900, 3), (9_900, 2), (19_900, 1))
_AMOUNTS = [usd for usd, _ in PRICE_POINTS]
_AMOUNT_WEIGHTS = list(itertools.accumulate(w for _, w in PRICE_POINTS))

Payer = tuple[Obj, Person]  # a served customer and who they are (their card)


@dataclass
class Wave:
    """One checkout wave as it plays: its draws, its ids, this hour's payers."""

    incident: Incident
    rng: random.Random
    ids: IdFactory
    payers: list[Payer] = field(default_factory=list)
    parts: dict[str, Parts] = field(default_factory=dict)  # customer id -> shared card values


def start_waves(engine: Engine) -> None:
    """Queue the first hour of every checkout wave; without one, nothing is drawn or queued."""
    incidents = [i for i in engine.incidents if i.kind == "checkout_wave"]
    if not incidents:
        return
    ids = engine.ids.branch()  # one branch, shared by the waves
    for number, incident in enumerate(incidents):
        rng = random.Random(f"checkout_wave:{engine.sim.seed}:{number}")
        engine.schedule(incident.start, _hour, Wave(incident, rng, ids))


def _hour(engine: Engine, at: int, wave: Wave) -> None:
    """Find this hour's payers and queue its payments, one per slot; then the next hour."""
    incident = wave.incident
    end = min(at + HOUR, incident.end)
    wave.payers = payers(engine, incident)
    if wave.payers:
        slot = HOUR / incident.per_hour
        for number in range(incident.per_hour):
            when = at + int((number + wave.rng.random()) * slot)
            if when < end:
                engine.schedule(when, _pay, wave)
    if end < incident.end:
        engine.schedule(end, _hour, wave)


def payers(engine: Engine, incident: Incident) -> list[Payer]:
    """The customers served now who pay with a card the incident's brand and country match."""
    found: list[Payer] = []
    for customer in engine.sim.customers.values():
        subs = engine.subs_of.get(customer["id"])
        if not subs or customer["invoice_settings"]["default_payment_method"] is None:
            continue  # not yet subscribed (created seconds ago), or no card on file
        person = subs[0].person
        if incident.matches_card(person.card.brand, person.card.country):
            found.append((customer, person))
    return found


def _pay(engine: Engine, at: int, wave: Wave) -> None:
    """One checkout: a drawn payer and amount, a charge that succeeds or fails, its event."""
    payer = _draw_payer(engine, wave)
    if payer is None:
        return
    customer, person = payer
    rng, card = wave.rng, person.card
    usd = rng.choices(_AMOUNTS, cum_weights=_AMOUNT_WEIGHTS)[0]
    rate, named = spiked(engine.incidents, at, card.brand, card.country, wave.incident.rate)
    decline = draw_first_attempt(rng, rate, named)
    charge = charge_object(
        wave.ids,
        rng,
        card=card,
        customer=customer["id"],
        amount=convert(usd, person.currency, "month", 1, step=True),
        currency=person.currency,
        payment_intent=wave.ids.new("pi"),
        description=None,
        created=at,
        decline=decline,
        parts=wave.parts.setdefault(customer["id"], Parts()),
    )
    engine.sim.charges[charge["id"]] = charge
    engine.events.emit("charge.failed" if decline else "charge.succeeded", charge, at)


def _draw_payer(engine: Engine, wave: Wave) -> Payer | None:
    """A payer of this hour still served with a card (one deleted since is dropped)."""
    found = wave.payers
    while found:
        index = wave.rng.randrange(len(found))
        customer, _ = found[index]
        served = engine.sim.customers.get(customer["id"]) is customer
        if served and customer["invoice_settings"]["default_payment_method"] is not None:
            return found[index]
        found[index] = found[-1]
        found.pop()
    return None

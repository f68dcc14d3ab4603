"""Shared nested values stay shared and untouched; the served JSON is what ``json`` would write.

The sandbox shares constant nested values between objects (``sandbox.objects.shared``: empty lists,
a subscription's line and invoice ``parent``, outcomes, card details) to keep ``large`` small.
That is only correct while nothing mutates a nested value of a served object in place, so these
tests play a live clock over `demo` and check that every earlier snapshot and every shared value
is exactly as it was.
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from sandbox.api.listing import dumps
from sandbox.objects.clock import DAY_SECONDS, day_end
from sandbox.objects.shared import EMPTY_DICT, EMPTY_LIST, NO_REQUEST
from sandbox.sim import Simulation, simulate

UNTIL = dt.date(2026, 11, 20)


Served = dict[str, dict[str, object]]
KINDS = ("customers", "subscriptions", "invoices", "charges", "events")


@pytest.fixture(scope="module")
def live() -> tuple[Simulation, dict[str, Served], dict[str, Served]]:
    """A `demo` run stopped 20 days early, then played to the end; what its objects were
    (shallow copies, still holding the nested values themselves) and deep copies of them."""
    sim = simulate(42, UNTIL, "demo", now=day_end(UNTIL) - 20 * DAY_SECONDS)
    shallow = {kind: {k: dict(v) for k, v in sim.resource(kind).items()} for kind in KINDS}
    deep = copy.deepcopy(shallow)
    sim.advance(day_end(UNTIL))
    return sim, shallow, deep


def test_nested_values_are_never_mutated_in_place(live) -> None:  # type: ignore[no-untyped-def]
    """Every nested value an object had (also inside event snapshots) is exactly as it was,
    whether or not the object still holds it, and the live clock did change objects."""
    sim, shallow, deep = live
    assert len(sim.events) > len(shallow["events"])
    changed = 0
    for kind in KINDS:
        for object_id, before in shallow[kind].items():
            assert before == deep[kind][object_id], (kind, object_id)
            current = sim.resource(kind).get(object_id) or sim.deleted[object_id].object
            changed += current != before
    assert changed
    assert EMPTY_LIST == [] and EMPTY_DICT == {}
    assert NO_REQUEST == {"id": None, "idempotency_key": None}


def test_constant_nested_values_are_shared(live) -> None:  # type: ignore[no-untyped-def]
    sim, _, _ = live
    by_sub: dict[str, list[dict[str, object]]] = {}
    for invoice in sim.invoices.values():
        by_sub.setdefault(invoice["parent"]["subscription_details"]["subscription"], []).append(
            invoice
        )
    invoices = max(by_sub.values(), key=len)
    assert len({id(invoice["parent"]) for invoice in invoices}) == 1
    first_lines = [
        sim.invoice_lines[i["id"]][0]
        for i in invoices
        if i["billing_reason"] == "subscription_cycle"
    ]
    assert len({id(line["parent"]) for line in first_lines}) == 1
    assert all(line["taxes"] is EMPTY_LIST for line in first_lines)
    outcomes = {id(c["outcome"]) for c in sim.charges.values()}
    assert len(outcomes) < len(sim.charges) / 5


def test_served_json_is_what_the_json_module_writes(live) -> None:  # type: ignore[no-untyped-def]
    sim, _, _ = live
    for name in ("customers", "subscriptions", "invoices", "charges", "events", "prices"):
        for obj in sim.resource(name).values():
            expected = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            assert dumps(obj) == expected.encode()

"""Upgrades and downgrades mid-cycle: a seat count or a plan changes.

Most changes prorate (Stripe's ``create_prorations``): a credit line for the unused time on the
old price and a charge line for the rest of the period on the new one, added to the next
invoice; some upgrades are invoiced at once (``always_invoice``). The rest change silently
(``proration_behavior: none``): the new price shows only on the next renewal invoice, so once
the change's event is older than Stripe's 30-day window, its date cannot be recovered through
the API; the truth lists those as unobservable changes. So does it list a prorated change
whose prorations no invoice has carried yet (an annual period still running, or a
cancellation that dropped them): until then only the change's event dates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.objects.catalog import PLANS
from sandbox.objects.catalog import plan_object as plan_view
from sandbox.objects.clock import within_day
from sandbox.objects.shared import nested_list
from sandbox.sim import collect
from sandbox.sim.invoicing import issue_invoice
from sandbox.sim.records import Collection, ItemSpec, PendingProration, Sub, truth_item
from sandbox.truth.ledger import Happening, TruthItem

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine
    from sandbox.sim.model import Obj

_FLAT_PLANS = [p for p in PLANS if not p.per_seat]  # plans a customer switches between


def maybe_change(engine: Engine, sub: Sub, start: int, end: int) -> None:
    """Now and then a period sees one upgrade or downgrade, at a random moment within it."""
    if engine.rng.random() < engine.preset.change_rate:
        engine.schedule(engine.rng.randint(start + 3_600, end - 3_600), change, sub)


def _new_plan(engine: Engine, sub: Sub) -> ItemSpec:
    """More seats (mostly) or fewer; or another flat plan."""
    rng = engine.rng
    spec, quantity = sub.specs[0]
    if spec.per_seat:
        step = rng.randint(1, max(1, quantity // 2))
        grow = rng.random() < 0.65 or quantity - step < 1
        return spec, quantity + step if grow else quantity - step
    others = [p for p in _FLAT_PLANS if p is not spec]
    return rng.choice(others), quantity


def change(engine: Engine, at: int, sub: Sub) -> None:
    """Apply a plan change to the first item, prorating or not; emit the update."""
    if sub.status != "active" or sub.cancel_at is not None:
        return
    old_truth, old_item = sub.truth_items[0], sub.items[0]
    spec, quantity = _new_plan(engine, sub)
    currency = sub.person.currency
    new_truth = truth_item(spec, quantity, currency, sub.interval, sub.interval_count)
    price = engine.catalog.price_for[(spec.key, currency, sub.interval, sub.interval_count)]
    new_item = {**old_item, "price": price, "plan": plan_view(price), "quantity": quantity}
    sub.specs = [(spec, quantity), *sub.specs[1:]]
    sub.items = [new_item, *sub.items[1:]]
    sub.reprice()
    engine.sim.subscription_items[sub.id] = sub.items
    upgrade = new_truth.period_amount() > old_truth.period_amount()
    engine.update_sub(sub, at, {"items": nested_list(sub.items, sub.obj["items"]["url"])})
    if engine.rng.random() >= engine.preset.proration_share:
        happening = Happening(sub.id, sub.customer["id"], at, "change_without_proration")
        engine.sim.ledger.unobservable.append(happening)
        return
    sub.pending += prorations(engine, (old_item, old_truth), (new_item, new_truth), at)
    if upgrade and engine.rng.random() < engine.preset.immediate_invoice_share:
        invoice_now(engine, sub, at)


def prorations(
    engine: Engine, old: tuple[Obj, TruthItem], new: tuple[Obj, TruthItem], at: int
) -> list[PendingProration]:
    """Credit for the old item's unused time and charge for the new one's, to period end."""
    (old_item, old_truth), (new_item, new_truth) = old, new
    sub_id = old_item["subscription"]
    customer = engine.sim.subscriptions[sub_id]["customer"]
    hidden = Happening(sub_id, customer, at, "change_with_pending_proration")
    engine.sim.ledger.unobservable.append(hidden)  # the truth drops it once invoiced
    start, end = old_item["current_period_start"], old_item["current_period_end"]
    left = (end - at) / (end - start)
    name = engine.product_names
    return [
        PendingProration(
            old_item, (at, end), -round(old_truth.period_amount() * left), old_truth.quantity,
            f"Unused time on {old_truth.quantity} × {name[old_item['price']['product']]}",
        ),
        PendingProration(
            new_item, (at, end), round(new_truth.period_amount() * left), new_truth.quantity,
            f"Remaining time on {new_truth.quantity} × {name[new_item['price']['product']]}",
        ),
    ]  # fmt: skip


def invoice_now(engine: Engine, sub: Sub, at: int) -> None:
    """``always_invoice``: the prorations are billed and collected right away."""
    invoice = issue_invoice(
        engine, sub, "subscription_update", at, (at, at), (at, at), regular=False
    )
    engine.update_sub(sub, at, {"latest_invoice": invoice["id"]})
    collection = Collection(invoice, sub, engine.ids.new("pi"))
    when = within_day(at, engine.rng.randint(1, 600))
    engine.soon(when, collect.attempt_soon, (collection, True))

"""Issuing a subscription's invoice: its lines, prorations, metered usage and discount.

Lines are priced from the engine's own records (``Sub.truth_items``, tiers included), never
read back from the served price JSON. A discount is applied to the lines as Stripe does, and a
``once`` discount is spent by the first invoice that bills something.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.objects.account import taxed
from sandbox.objects.coupons import allocate, truth_discount
from sandbox.objects.invoices import draft_view, invoice_object, line_description, line_object
from sandbox.objects.shared import nested_list
from sandbox.sim.model import Obj

if TYPE_CHECKING:
    from sandbox.sim.engine import Engine
    from sandbox.sim.records import Sub


def set_item_periods(engine: Engine, sub: Sub, start: int, end: int, at: int) -> None:
    """Give every item its new billing period.

    Inside the kept-events window the items are new dicts (snapshots stay as they were);
    before it no snapshot exists yet, so they are changed in place, which is cheaper.
    """
    if not engine.events.keeping(at):
        for item in sub.items:
            item["current_period_start"], item["current_period_end"] = start, end
        return
    sub.items = [
        {**item, "current_period_start": start, "current_period_end": end} for item in sub.items
    ]
    engine.sim.subscription_items[sub.id] = sub.items
    sub.obj["items"] = nested_list(sub.items, sub.obj["items"]["url"])


def issue_invoice(
    engine: Engine,
    sub: Sub,
    reason: str,
    at: int,
    period: tuple[int, int],
    service: tuple[int, int],
    *,
    trial: bool = False,
    usage_period: tuple[int, int] | None = None,
    regular: bool = True,
) -> Obj:
    """Create, finalize and record an invoice; emits ``invoice.created`` and ``.finalized``."""
    invoice_id = engine.ids.new("in")
    lines = _regular_lines(engine, sub, invoice_id, service, trial) if regular else []
    if usage_period is not None:
        lines += _usage_lines(engine, sub, invoice_id, usage_period)
    lines += [
        line_object(
            engine.ids, invoice_id, p.item, p.period, amount=p.amount, quantity=p.quantity,
            description=p.description, proration=True, parts=sub.parts,
        )
        for p in sub.pending
    ]  # fmt: skip
    sub.pending = []
    discount = _apply_discount(engine, sub, lines, at, service) if not trial else None
    invoice = invoice_object(
        invoice_id,
        sub.customer,
        sub.obj,
        billing_reason=reason,
        created=at,
        period=period,
        lines=lines,
        discount=discount,
        parts=sub.parts,
    )
    if sub.obj["automatic_tax"]["enabled"]:
        invoice.update(taxed(invoice, engine.preset.account.tax.rate_percent))
    engine.sim.invoices[invoice_id] = invoice
    engine.sim.invoice_lines[invoice_id] = lines
    engine.sim.ledger.invoiced(sub.id, at)  # the truth: what an invoice can reveal
    if engine.events.keeping(at):
        engine.events.emit("invoice.created", invoice, at, snapshot=draft_view(invoice))
        engine.events.emit("invoice.finalized", invoice, at)
    return invoice


def _regular_lines(
    engine: Engine, sub: Sub, invoice_id: str, service: tuple[int, int], trial: bool
) -> list[Obj]:
    lines = []
    for item, truth in zip(sub.items, sub.truth_items, strict=True):
        if truth.usage_type == "metered":
            continue
        name = engine.product_names[item["price"]["product"]]
        lines.append(
            line_object(
                engine.ids,
                invoice_id,
                item,
                service,
                amount=0 if trial else truth.period_amount(),
                quantity=truth.quantity,
                description=line_description(item["price"], truth.quantity, name, trial=trial),
                parts=sub.parts,
            )
        )
    return lines


def _usage_lines(engine: Engine, sub: Sub, invoice_id: str, period: tuple[int, int]) -> list[Obj]:
    """Metered items are billed in arrears: last period's usage on this period's invoice."""
    lines = []
    for item, truth in zip(sub.items, sub.truth_items, strict=True):
        if truth.usage_type != "metered":
            continue
        used = engine.script.usage(sub, item) if engine.script is not None else None
        if used is None:
            used = int(engine.rng.lognormvariate(4.5, 1.0))
        name = engine.product_names[item["price"]["product"]]
        lines.append(
            line_object(
                engine.ids,
                invoice_id,
                item,
                period,
                amount=used * truth.unit_amount,
                quantity=used,
                description=f"{used} × {name} (usage)",
                parts=sub.parts,
            )
        )
    return lines


def _apply_discount(
    engine: Engine, sub: Sub, lines: list[Obj], at: int, service: tuple[int, int]
) -> str | None:
    """Fill in each line's ``discount_amounts``; returns the discount id if one applied."""
    spec, discount_id = sub.coupon, sub.discount_id
    if spec is None or discount_id is None:
        return None
    end = engine.sim.discounts[discount_id]["end"]
    if end is not None and at >= end:  # a repeating discount ran out: Stripe removes it
        _remove_discount(engine, sub, at)
        return None
    amounts = allocate(spec, [line["amount"] for line in lines])
    if not any(amounts):
        return None
    for line, amount in zip(lines, amounts, strict=True):
        if amount:
            line["discount_amounts"] = [{"amount": amount, "discount": discount_id}]
            line["discounts"] = [discount_id]
    if spec.duration == "once":  # spent: it discounted this period, then goes
        sub.truth_discount = truth_discount(spec, service[0], service[1])
        _remove_discount(engine, sub, at)
    return discount_id


def _remove_discount(engine: Engine, sub: Sub, at: int) -> None:
    sub.coupon, sub.discount_id = None, None
    engine.update_sub(sub, at, {"discounts": []})

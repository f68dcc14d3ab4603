"""The truth for one day, as JSON-ready data: MRR per currency, subscription and customer,
churns with causes, reactivations and the changes Stripe's API cannot show.

Conventions (SPEC §5): MRR counts ``active`` and ``past_due`` subscriptions' licensed items,
tiered prices by their tiers, normalised to a month. ``mrr_by_currency`` is net of discounts:
``forever`` coupons always, ``repeating`` ones while they last unless ``subtract_repeating`` is
off, ``once`` ones (during the one period they discount) only if ``subtract_once`` is on;
``list_mrr_by_currency`` is before any discount. A cancellation at period end leaves MRR (and
churns) the day it is requested unless ``churn_at_period_end`` is on, when it leaves the day
the subscription ends. An amount-off coupon is spread over its subscription's interval.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction
from itertools import pairwise
from typing import Any

from sandbox.truth.ledger import (
    ChurnEvent,
    Happening,
    MrrRules,
    SubscriptionHistory,
    TruthLedger,
    counts,
    day_ordinal,
    list_mrr,
    net_mrr,
)

EVENTS_WINDOW_DAYS = 30


def to_major(amount_minor: Fraction, minor_units: int) -> float:
    """Minor units to a major-unit float rounded to 2 decimals (jpy: yen, so divide by 1)."""
    return round(float(amount_minor / minor_units), 2)


def mrr_on(
    history: SubscriptionHistory, ordinal: int, rules: MrrRules
) -> tuple[str, Fraction, Fraction] | None:
    """(currency, list MRR, net MRR) of one subscription at the end of a day, if it counts."""
    state = history.on(ordinal)
    if state is None or not counts(state, rules):
        return None
    return state.currency, list_mrr(state), net_mrr(state, ordinal, rules)


def truth_report(
    ledger: TruthLedger,
    as_of: dt.date,
    *,
    first_day: dt.date,
    last_day: dt.date,
    currencies: tuple[str, ...],
    minor_units: dict[str, int],
    rules: MrrRules | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The JSON-ready truth for ``as_of``; a date outside the simulated range is an error."""
    if not first_day <= as_of <= last_day:
        raise ValueError(f"as_of {as_of} is outside the simulated range {first_day}..{last_day}")
    rules = rules or MrrRules()
    ordinal = as_of.toordinal()
    totals = _totals(ledger, ordinal, rules, currencies, minor_units)
    return {
        "as_of": as_of.isoformat(),
        **totals,
        "churn_events": churn_list(ledger, ordinal, rules, minor_units),
        "reactivations": [
            {"customer": r.customer, "subscription": r.subscription, "date": _iso(r.at)}
            for r in ledger.reactivations
            if day_ordinal(r.at) <= ordinal
        ],
        "unobservable_changes": unobservable(ledger, ordinal, now),
        "conventions": {
            "subtract_repeating": rules.subtract_repeating,
            "subtract_once": rules.subtract_once,
            "churn_at_period_end": rules.churn_at_period_end,
        },
    }


def _totals(
    ledger: TruthLedger,
    ordinal: int,
    rules: MrrRules,
    currencies: tuple[str, ...],
    minor_units: dict[str, int],
) -> dict[str, Any]:
    """Net and list MRR per currency, net MRR per subscription and per customer, and the count."""
    net = {c: Fraction(0) for c in currencies}
    gross = {c: Fraction(0) for c in currencies}
    by_sub: dict[str, float] = {}
    by_customer: dict[str, Fraction] = defaultdict(Fraction)
    customer_currency: dict[str, str] = {}
    for sub_id, history in ledger.histories.items():
        found = mrr_on(history, ordinal, rules)
        if found is None:
            continue
        currency, list_amount, net_amount = found
        gross[currency] += list_amount
        net[currency] += net_amount
        by_sub[sub_id] = to_major(net_amount, minor_units[currency])
        by_customer[history.customer] += net_amount
        customer_currency[history.customer] = currency
    return {
        "mrr_by_currency": _per_currency(net, minor_units),
        "list_mrr_by_currency": _per_currency(gross, minor_units),
        "active_subscriptions": len(by_sub),
        "mrr_by_subscription": dict(sorted(by_sub.items())),
        "mrr_by_customer": {
            customer: to_major(amount, minor_units[customer_currency[customer]])
            for customer, amount in sorted(by_customer.items())
        },
    }


def _per_currency(amounts: dict[str, Fraction], minor_units: dict[str, int]) -> dict[str, float]:
    return {c: to_major(v, minor_units[c]) for c, v in sorted(amounts.items())}


def _iso(ts: int) -> str:
    return dt.date.fromordinal(day_ordinal(ts)).isoformat()


def churn_day(event: ChurnEvent, rules: MrrRules) -> int:
    """The day a churn counts: its request, or its end under ``churn_at_period_end``."""
    return day_ordinal(event.at if rules.churn_at_period_end else event.requested_at)


def churn_list(
    ledger: TruthLedger, ordinal: int, rules: MrrRules, minor_units: dict[str, int]
) -> list[dict[str, Any]]:
    """Every churn up to ``ordinal`` with the MRR the subscription had the day before."""
    rows = []
    for event in sorted(ledger.churn_events, key=lambda e: (churn_day(e, rules), e.subscription)):
        day = churn_day(event, rules)
        if day > ordinal:
            continue
        history = ledger.histories[event.subscription]
        found = mrr_on(history, day - 1, rules)
        lost, currency = (
            (found[2], found[0]) if found else (Fraction(0), history.states[0].currency)
        )
        rows.append(
            {
                "customer": event.customer,
                "subscription": event.subscription,
                "date": dt.date.fromordinal(day).isoformat(),
                "cause": event.cause,
                "mrr_lost": to_major(lost, minor_units[currency]),
                "currency": currency,
            }
        )
    return rows


def unobservable(ledger: TruthLedger, ordinal: int, now: int | None) -> list[dict[str, Any]]:
    """Silent changes up to ``ordinal`` that fell out of the 30-day events window by ``now``
    and that no object shows since (see ``hidden``)."""
    horizon = None if now is None else day_ordinal(now) - EVENTS_WINDOW_DAYS
    return [
        {
            "subscription": h.subscription,
            "customer": h.customer,
            "date": _iso(h.at),
            "kind": h.kind,
        }
        for h in ledger.unobservable
        if day_ordinal(h.at) <= ordinal
        and (horizon is None or day_ordinal(h.at) < horizon)
        and hidden_until(ledger, h) != day_ordinal(h.at)
    ]


def hidden_until(ledger: TruthLedger, happening: Happening) -> int | None:
    """The first day (an ordinal) at whose end an API reader can know a silent change's effect
    again, counting invoices and the change's own status only; None: not yet.

    A silent price change and a pause show from the subscription's next invoice on (a renewal,
    a resume); prorations are carried by the next invoice, which dates their change exactly
    (so a prorated change is hidden only while no invoice came). (A move to ``unpaid`` is not
    listed: the open invoice dunning gave up on and its failed charges date it.)
    """
    start = day_ordinal(happening.at)
    invoice = ledger.next_invoice(happening.subscription, happening.at)
    if happening.kind == "change_with_pending_proration":
        return start if invoice is not None else None
    return None if invoice is None else day_ordinal(invoice)


def hidden_days(ledger: TruthLedger, now: int) -> dict[str, list[tuple[dt.date, dt.date]]]:
    """Per subscription, the days [from, until) whose MRR no API reader can know: from each
    change listed as unobservable to the day it shows (``hidden_until``), and not past the
    start of the events window (30 days before ``now``), where each change has its event whose
    ``previous_attributes`` say what held before."""
    horizon = day_ordinal(now) - EVENTS_WINDOW_DAYS
    spans: dict[str, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for happening in ledger.unobservable:
        if day_ordinal(happening.at) >= horizon:
            continue  # its event is listed
        start = day_ordinal(happening.at)
        until = hidden_until(ledger, happening)
        end = horizon if until is None else min(until, horizon)
        if start < end:
            span = (dt.date.fromordinal(start), dt.date.fromordinal(end))
            spans[happening.subscription].append(span)
    return dict(spans)


def subscription_mrr_days(
    ledger: TruthLedger, first_day: dt.date, last_day: dt.date, rules: MrrRules | None = None
) -> dict[dt.date, dict[str, tuple[str, Fraction]]]:
    """Per day in [first_day, last_day]: each subscription in MRR, its currency and exact net
    MRR in minor units — ``mrr_by_subscription`` for a range of days at once, walking each
    history's segments instead of looking every subscription up on every day."""
    rules = rules or MrrRules()
    first, last = first_day.toordinal(), last_day.toordinal()
    days: dict[int, dict[str, tuple[str, Fraction]]] = {o: {} for o in range(first, last + 1)}
    for sub_id, history in ledger.histories.items():
        ends = [*history.days[1:], last + 1]
        for begin, end, state in zip(history.days, ends, history.states, strict=True):
            begin, end = max(begin, first), min(end, last + 1)
            if begin >= end or not counts(state, rules):
                continue
            cuts = {begin, end}  # the net amount changes only where the discount starts or ends
            if state.discount is not None:
                for ts in (state.discount.start, state.discount.end):
                    if ts is not None and begin < day_ordinal(ts) < end:
                        cuts.add(day_ordinal(ts))
            bounds = sorted(cuts)
            for lo, hi in pairwise(bounds):
                amount = (state.currency, net_mrr(state, lo, rules))
                for ordinal in range(lo, hi):
                    days[ordinal][sub_id] = amount
    return {dt.date.fromordinal(o): found for o, found in days.items()}


def format_truth(report: dict[str, Any]) -> str:
    """``truth_report``'s headline figures as aligned lines for a terminal: MRR per currency,
    subscriptions and customers, churns by cause, and what the API cannot show. The lists per
    subscription, customer and churn are left to ``--json``."""
    churns: dict[str, int] = defaultdict(int)
    for churn in report["churn_events"]:
        churns[churn["cause"]] += 1
    hidden: dict[str, int] = defaultdict(int)
    for change in report["unobservable_changes"]:
        hidden[change["kind"]] += 1
    conventions = ", ".join(
        f"{name} {'on' if value else 'off'}" for name, value in report["conventions"].items()
    )
    rows = [
        ("MRR", _amounts(report["mrr_by_currency"])),
        ("MRR before discounts", _amounts(report["list_mrr_by_currency"])),
        ("Subscriptions", f"{report['active_subscriptions']:,} in MRR, "
         f"{len(report['mrr_by_customer']):,} customers"),
        ("Churns to date", f"{len(report['churn_events']):,}{_counts(churns)}"),
        ("Reactivations", f"{len(report['reactivations']):,}"),
        ("Changes not in API", f"{len(report['unobservable_changes']):,}{_counts(hidden)}"),
        ("Undelivered webhooks", f"{len(report.get('undelivered_webhooks', [])):,}"),
        ("Conventions", conventions),
    ]  # fmt: skip
    lines = [f"sandbox truth as of {report['as_of']} (end of day, UTC)"]
    lines += [f"  {label:<22}{value}" for label, value in rows]
    lines.append("  (--json prints every key: each subscription, customer and churn)")
    return "\n".join(lines)


def _amounts(by_currency: dict[str, float]) -> str:
    """ "2,939.67 EUR, 18,777.83 USD" (the truth's amounts are rounded to 2 decimals)."""
    parts = [f"{value:,.2f} {code.upper()}" for code, value in by_currency.items()]
    return ", ".join(parts) or "none"


def _counts(by_kind: dict[str, int]) -> str:
    """ " (8 voluntary, 3 involuntary)", most first; "" for none."""
    ranked = sorted(by_kind.items(), key=lambda item: (-item[1], item[0]))
    return f" ({', '.join(f'{n:,} {kind}' for kind, n in ranked)})" if ranked else ""

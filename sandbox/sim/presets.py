"""Named scenario sizes and the behavioural rates of the simulated business.

Every knob of the simulation lives here so a preset (``small``, ``demo``, ``large``) or a
scenario file can change the business without touching the engine. ``small`` keeps to the
behaviours that do not change MRR's definition (no coupons, tiers or period-end cancellations)
so the end-to-end test can compare paylens' MRR with the truth to the cent while paylens'
metrics do not yet handle those, and deletes nothing (the sync tests compare an incremental
warehouse with a fresh backfill of it, where deleted objects are simply absent); ``demo``
switches every behaviour on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sandbox.objects.account import AccountSetup, PortalSpec, RegistrationSpec, TaxSpec


@dataclass(frozen=True)
class Preset:
    """How big the simulated account is and how its customers behave."""

    name: str
    customers: int
    months: int
    currencies: tuple[str, ...] = ("usd", "eur")
    trial_share: float = 0.35  # signups that start with a trial
    trial_days: int = 14
    trial_conversion: float = 0.65  # trials that convert (the rest cancel during the trial)
    trial_without_card: float = 0.0  # trials with no payment method: paused at trial end
    paused_resume: float = 0.6  # paused subscriptions whose customer later adds a card
    interval_weights: tuple[float, ...] = (0.05, 0.65, 0.1, 0.2)  # see catalog.INTERVALS
    plan_weights: tuple[float, ...] = (0.5, 0.35, 0.15, 0.0)  # starter, team, business, scale
    max_seats: int = 20
    addon_share: float = 0.2  # subscriptions with one or two add-ons
    many_items_share: float = 0.04  # subscriptions with 10+ add-ons (nested-list truncation)
    guests_share: float = 0.0  # subscriptions with the volume-tiered guest seats add-on
    metered_share: float = 0.1  # subscriptions with the metered API add-on
    coupon_share: float = 0.0  # signups that redeem a coupon
    monthly_churn: float = 0.03  # voluntary cancellation hazard per month
    period_end_share: float = 0.0  # voluntary cancellations that wait for the period end
    change_rate: float = 0.04  # chance per period of an upgrade or downgrade
    proration_share: float = 0.85  # plan changes that prorate (the rest change silently)
    immediate_invoice_share: float = 0.4  # prorating upgrades invoiced at once
    reactivation: float = 0.12  # voluntary churners who subscribe again later
    first_attempt_failure: float = 0.035  # base decline rate, scaled per card and amount
    retry_success: float = 0.45  # chance that a dunning retry succeeds
    dunning_gaps_days: tuple[int, ...] = (3, 5, 7)  # waits between attempts of one invoice
    unpaid_share: float = 0.0  # exhausted dunning ends `unpaid` instead of `canceled`
    refund_rate: float = 0.01  # successful charges later refunded (half of them partially)
    dispute_rate: float = 0.002  # successful charges later disputed
    dispute_cancels: float = 0.5  # disputes after which the business cancels the subscription
    webhook_outages: tuple[tuple[int, int, int], ...] = ()  # (endpoint, days before end, hours)
    event_days: int = 40  # days before the end whose events are kept (Stripe lists 30)
    # Deletions (Stripe's `*.deleted`; see sandbox.sim.deletions), off unless a preset says so:
    deleted_after_end: float = 0.0  # customers deleted 1-90 days after their last sub ended
    deleted_while_subscribed: float = 0.0  # signups whose customer is deleted while subscribed
    draft_products_per_year: float = 0.0  # price-less products created, deleted 1-21 days later
    retired_coupons: tuple[tuple[str, int], ...] = ()  # (coupon id, days before end deleted)
    # the integration setup: portal, tax, webhook endpoints (sandbox.objects.account); automatic
    # tax would change invoices, so every preset keeps it off
    account: AccountSetup = field(default_factory=AccountSetup)


# `demo`'s checklist evidence (issue 20; `paylens demo` scores 5/8, docs/METRICS.md): a default,
# active portal with all three features; Stripe Tax active with a US registration but automatic
# tax off (it would change every invoice: amber); the default endpoints (none pinned, the billing
# and CRM ones without `invoice.upcoming`, one disabled: amber); dunning as the business retries.
DEMO_ACCOUNT = AccountSetup(
    portal=(PortalSpec(),),
    tax=TaxSpec(status="active", registrations=(RegistrationSpec("US"),)),
)

PRESETS: dict[str, Preset] = {
    "small": Preset(
        "small",
        customers=150,
        months=6,
        interval_weights=(0, 0.8, 0, 0.2),
        first_attempt_failure=0.05,
        retry_success=0.3,
        dispute_rate=0.02,  # so that a small account still serves a few disputes
        webhook_outages=((2, 3, 5),),
    ),
    "demo": Preset(
        "demo",
        customers=1_000,
        months=24,
        currencies=("usd", "eur", "gbp", "jpy"),
        trial_without_card=0.2,
        plan_weights=(0.42, 0.3, 0.13, 0.15),
        guests_share=0.08,
        coupon_share=0.22,
        monthly_churn=0.028,
        period_end_share=0.5,
        first_attempt_failure=0.034,
        retry_success=0.25,
        unpaid_share=0.3,
        webhook_outages=((2, 6, 5), (3, 20, 80)),
        deleted_after_end=0.15,
        deleted_while_subscribed=0.01,
        draft_products_per_year=6.0,
        retired_coupons=(("PARTNER15", 9),),
        account=DEMO_ACCOUNT,
    ),
}
# `large` is `demo`'s business at 100 times the size, over three years, with more monthly plans
# (more charges per customer) and Stripe's own events window (less memory).
PRESETS["large"] = replace(
    PRESETS["demo"],
    name="large",
    customers=100_000,
    months=36,
    interval_weights=(0.08, 0.74, 0.06, 0.12),
    event_days=31,
    account=AccountSetup(portal=(PortalSpec(),), tax=TaxSpec(status="pending")),  # unchanged
)


def get_preset(name: str) -> Preset:
    """Look a preset up by name; the error lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown preset {name!r} (known: {known})") from None

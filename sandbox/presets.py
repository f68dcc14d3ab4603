"""Named scenario sizes and the behavioural rates of the simulated business.

Every knob of the simulation lives here so a later preset (``large``) or a scenario file can
change the business without touching the engine.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    annual_share: float = 0.2  # signups on annual prices
    plan_weights: tuple[float, float, float] = (0.5, 0.35, 0.15)  # starter, team, business
    max_seats: int = 20
    addon_share: float = 0.2  # subscriptions with one or two add-ons
    many_items_share: float = 0.04  # subscriptions with 10+ add-ons (nested-list truncation)
    monthly_churn: float = 0.03  # voluntary cancellation hazard per month
    first_attempt_failure: float = 0.035  # base decline rate, scaled per card country
    retry_success: float = 0.45  # chance that a dunning retry succeeds
    dunning_gaps_days: tuple[int, ...] = (3, 5, 7)  # waits between attempts of one invoice


PRESETS: dict[str, Preset] = {
    "small": Preset("small", customers=150, months=6),
    "demo": Preset("demo", customers=1_000, months=24),
}


def get_preset(name: str) -> Preset:
    """Look a preset up by name; the error lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown preset {name!r} (known: {known})") from None

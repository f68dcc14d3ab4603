"""What a scenario file says, once parsed and checked: its catalogue and its timeline.

Kept apart from the parser and the runner so both depend on plain frozen data. Money is in
integer minor units, times in UTC unix seconds; names are the file's symbolic names (``alice``,
``pro_monthly``), never Stripe ids, which the sandbox assigns when it runs the scenario.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.objects.account import AccountSetup
from sandbox.objects.catalog import Tier
from sandbox.objects.coupons import CouponSpec


class ScenarioError(ValueError):
    """One problem with a scenario file: which file, where in it, and what is wrong."""

    def __init__(self, path: Path | str, where: str, problem: str) -> None:
        self.path, self.where, self.problem = str(path), where, problem
        super().__init__(f"{path}: {where}: {problem}")


@dataclass(frozen=True)
class ProductDef:
    """A product the scenario sells (``name`` is what the served product displays; its
    ``description`` and ``metadata`` are served as given, beside ``metadata.scenario_name``)."""

    key: str
    name: str
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PriceDef:
    """A recurring price: flat ``unit_amount`` or ``tiers``, licensed or metered. A price has
    no description in Stripe: its text is ``nickname`` (default: the key), with ``metadata``."""

    key: str
    product: str
    currency: str
    unit_amount: int | None
    interval: str
    interval_count: int = 1
    usage_type: str = "licensed"
    tiers_mode: str | None = None
    tiers: tuple[Tier, ...] = ()
    nickname: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One timeline entry: what happens (``op``) at ``at``, with its checked fields."""

    index: int
    op: str
    at: int
    fields: Mapping[str, Any]

    @property
    def where(self) -> str:
        """How errors name this entry: its position and its operation."""
        return f"timeline[{self.index}] ({self.op})"


@dataclass(frozen=True)
class Dunning:
    """Stripe's account-wide retry settings: days between attempts, and what ends dunning."""

    retry_days: tuple[int, ...] = (3, 5, 7)
    exhausted: str = "canceled"  # or "unpaid"


@dataclass(frozen=True)
class Scenario:
    """A hand-scripted business, ready for ``simulate_scenario``."""

    path: Path
    name: str
    description: str
    start: dt.date
    until: dt.date
    seed: int
    currencies: tuple[str, ...]
    dunning: Dunning
    products: Mapping[str, ProductDef]
    prices: Mapping[str, PriceDef]
    coupons: Mapping[str, CouponSpec]
    timeline: tuple[Operation, ...]
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    account: AccountSetup = field(default_factory=AccountSetup)  # portal, tax, endpoints

    def members(self, name: str) -> tuple[str, ...]:
        """The customers or subscriptions a name stands for (a group's, or itself)."""
        return self.groups.get(name, (name,))

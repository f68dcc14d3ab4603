"""The `integration_health` rule: its reading is the integration score of the account's day,
and it fires (warning) below 5, on the same hand-built warehouse the metric tests use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.decide import classify
from alerts.evaluate import Context, evaluate
from alerts.model import Reading, Rule
from alerts.rules import load_rules
from metrics.integration import Setup
from tests.metrics.test_integration import (
    SETUP,
    WATCHING,
    _no_tax,
    _portal_off,
    _test_key,
    green_account,
)
from tests.metrics.warehouse import Warehouse

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _reading(wh: Warehouse, setup: Setup) -> tuple[Rule, Reading]:
    (rule,) = [rule for rule in load_rules(None) if rule.name == "integration_health"]
    context = Context(at=AT, sync_interval=timedelta(minutes=5), integration=setup)
    (reading,) = evaluate(wh.con, [rule], context)
    return rule, reading


def test_a_set_up_account_reads_eight_and_does_not_fire(tmp_path: Path) -> None:
    wh = Warehouse.create(tmp_path / "w.duckdb")
    green_account(wh.con)

    rule, reading = _reading(wh, SETUP)

    assert (reading.value, reading.label, reading.detail) == (
        8.0,
        "Integration health 8/8 (stop and fix below 5)",
        None,
    )
    assert reading.page == "integration"
    assert classify(rule, reading) == "clear"


def test_four_greens_fire_a_warning_naming_what_is_not_green(tmp_path: Path) -> None:
    wh = Warehouse.create(tmp_path / "w.duckdb")
    green_account(wh.con)
    for change in (_no_tax, _portal_off, _test_key):  # no declarations either
        change(wh.con)

    rule, reading = _reading(wh, Setup((), WATCHING))

    assert reading.value == 3.0  # webhooks, dunning, monitoring
    assert reading.detail == (
        "not green: Idempotency keys, Customer portal, Tax, PCI SAQ-A, Test → live"
    )
    assert classify(rule, reading) == "warning"


def test_five_greens_do_not_fire(tmp_path: Path) -> None:
    wh = Warehouse.create(tmp_path / "w.duckdb")
    green_account(wh.con)
    _portal_off(wh.con)

    rule, reading = _reading(wh, Setup((), WATCHING))

    assert reading.value == 5.0
    assert classify(rule, reading) == "clear"

"""A scenario file with a mistake gives one ScenarioError naming the file, the place and the
problem; a well-formed file is accepted as TOML or as JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from sandbox.scenario import ScenarioError, load_scenario, simulate_scenario
from sandbox.sim import truth

BASE = """
[scenario]
name = "base"
start = 2025-01-01
until = 2025-03-31

[products.pro]
name = "Pro"

[prices.pro_monthly]
product = "pro"
currency = "usd"
unit_amount = 10000
interval = "month"

[coupons.TEN]
duration = "forever"
percent_off = 10

[[timeline]]
at = 2025-01-05
op = "create_customer"
customer = "ann"

[[timeline]]
at = 2025-01-05
op = "subscribe"
subscription = "ann_pro"
customer = "ann"
items = [{ price = "pro_monthly" }]
"""


def _write(tmp_path: Path, text: str, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _entry(**fields: object) -> str:
    lines = [f"{k} = {json.dumps(v) if k != 'at' else v}" for k, v in fields.items()]
    return "\n[[timeline]]\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (BASE + "\n[extras]\nx = 1\n", "top level",
         "unknown key 'extras' (allowed: coupons, dunning, portal, prices, products, scenario, "
         "tax, timeline, webhook_endpoints)"),
        (BASE.replace('name = "base"', 'name = "base"\ncolour = "red"'), "[scenario]",
         "unknown key 'colour' (allowed: currencies, description, name, seed, start, "
         "time_of_day, until)"),
        (BASE.replace("unit_amount = 10000", "amount = 10000"), "prices.pro_monthly",
         "unknown key 'amount' (allowed: currency, interval, interval_count, metadata, "
         "nickname, product, tiers, tiers_mode, unit_amount, usage_type)"),
        (BASE.replace('product = "pro"', 'product = "max"'), "prices.pro_monthly",
         "product 'max' is not defined in [products]"),
        (BASE.replace('interval = "month"', 'interval = "fortnight"'), "prices.pro_monthly",
         "interval: expected one of day, week, month, year, got 'fortnight'"),
        (BASE.replace('currency = "usd"', 'currency = "chf"'), "prices.pro_monthly",
         "currency: unknown currency 'chf' (known: eur, gbp, jpy, usd)"),
        (BASE.replace("percent_off = 10", "percent_off = 10\nduration_in_months = 3"),
         "coupons.TEN", "duration_in_months is required for repeating coupons and only for them"),
        (BASE.replace('customer = "ann"\nitems', 'customer = "zed"\nitems'),
         "timeline[1] (subscribe)", "customer 'zed' is not defined by an earlier create_customer"),
        (BASE.replace('{ price = "pro_monthly" }', '{ price = "pro_yearly" }'),
         "timeline[1] (subscribe)", "price 'pro_yearly' is not defined in [prices]"),
        (BASE.replace("at = 2025-01-05\nop = \"create_customer\"",
                      "at = 2024-12-31\nop = \"create_customer\""),
         "timeline[0] (create_customer)",
         "at 2024-12-31T12:00:00Z is before the scenario's start 2025-01-01"),
        (BASE + _entry(at="2025-01-04", op="cancel", subscription="ann_pro"),
         "timeline[2] (cancel)", "at 2025-01-04T12:00:00Z is earlier than the operation before it"),
        (BASE + _entry(at="2025-02-01", op="cancel", subscription="ann_pro")
         + _entry(at="2025-02-02", op="cancel", subscription="ann_pro"),
         "timeline[3] (cancel)", "subscription 'ann_pro' was already cancelled"),
        (BASE + _entry(at="2025-02-01", op="upgrade", subscription="ann_pro"),
         "timeline[2]", "unknown op 'upgrade' (known: apply_coupon, cancel, change, "
         "create_customer, dispute, fail_payments, pause, recover, refund, resume, subscribe, "
         "update_charge)"),
        (BASE + _entry(at="2025-02-01", op="cancel", subscription="ann_pro", when="now"),
         "timeline[2] (cancel)",
         "unknown key 'when' (allowed: at, at_period_end, feedback, op, subscription)"),
        (BASE + _entry(at="2025-02-01", op="apply_coupon", subscription="ann_pro"),
         "timeline[2] (apply_coupon)", "missing key 'coupon'"),
        (BASE + _entry(at="2025-02-01", op="fail_payments", customer="ann", until="2025-01-20"),
         "timeline[2] (fail_payments)", "until must be after at"),
        (BASE + _entry(at="2025-02-01", op="change", subscription="ann_pro", quantity=0),
         "timeline[2] (change)", "quantity: expected an integer ≥ 1, got 0"),
        (BASE.replace('customer = "ann"\n\n', 'customer = "ann"\ncurrency = "eur"\n\n')
         .replace("[scenario]\n", '[scenario]\ncurrencies = ["usd", "eur"]\n'),
         "timeline[1] (subscribe)", "price 'pro_monthly' is in usd, the customer pays in eur"),
        ("[scenario\nname = 1", "file", None),
    ],
)  # fmt: skip
def test_each_mistake_is_one_error_naming_file_place_and_problem(
    tmp_path: Path, text: str, where: str, problem: str | None
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert (raised.value.path, raised.value.where) == (str(path), where)
    if problem is not None:
        assert raised.value.problem == problem
        assert str(raised.value) == f"{path}: {where}: {problem}"
    else:
        assert raised.value.problem.startswith("not valid toml: ")


@pytest.mark.parametrize(
    ("entries", "where", "problem"),
    [
        (_entry(at="2025-02-01", op="fail_payments", customer="ann", until="2025-03-20")
         + _entry(at="2025-03-25", op="cancel", subscription="ann_pro"),
         "timeline[3] (cancel)",
         "subscription 'ann_pro' is canceled (needs active/past_due/trialing/paused/unpaid)"),
        (_entry(at="2025-02-01", op="resume", subscription="ann_pro"),
         "timeline[2] (resume)", "subscription 'ann_pro' is active (needs paused)"),
        (_entry(at="2025-02-01", op="recover", customer="ann"),
         "timeline[2] (recover)", "customer 'ann' has no failing card to recover"),
        (_entry(at="2025-01-20", op="refund", customer="ann", charge=2),
         "timeline[2] (refund)", "customer 'ann' has 1 successful charges"),
        (_entry(at="2025-01-20", op="refund", customer="ann", amount=20000),
         "timeline[2] (refund)", "amount 20000 is more than the 10000 left to refund"),
        (_entry(at="2025-01-20", op="change", subscription="ann_pro", quantity=1),
         "timeline[2] (change)", "subscription 'ann_pro' already has that price and quantity"),
        (_entry(at="2025-04-01", op="recover", customer="ann"),
         "timeline[2] (recover)", "customer 'ann' has no failing card to recover"),
    ],
)  # fmt: skip
def test_an_operation_the_business_cannot_do_by_then_stops_the_run(
    tmp_path: Path, entries: str, where: str, problem: str
) -> None:
    path = _write(tmp_path, BASE + entries)
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError) as raised:
        simulate_scenario(scenario)
    assert str(raised.value) == f"{path}: {where}: {problem}"


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"absent\.toml: file: cannot read it"):
        load_scenario(tmp_path / "absent.toml")


def test_simulating_past_the_files_last_day_is_refused(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, BASE))
    with pytest.raises(ScenarioError, match="until 2025-04-01 is outside the scenario's days"):
        simulate_scenario(scenario, until=dt.date(2025, 4, 1))


def test_the_same_business_written_as_json_gives_the_same_truth(tmp_path: Path) -> None:
    document = {
        "scenario": {"name": "base", "start": "2025-01-01", "until": "2025-03-31"},
        "products": {"pro": {"name": "Pro"}},
        "prices": {"pro_monthly": {"product": "pro", "currency": "usd", "unit_amount": 10000,
                                   "interval": "month"}},
        "coupons": {"TEN": {"duration": "forever", "percent_off": 10}},
        "timeline": [
            {"at": "2025-01-05", "op": "create_customer", "customer": "ann"},
            {"at": "2025-01-05T12:00:00Z", "op": "subscribe", "subscription": "ann_pro",
             "customer": "ann", "items": [{"price": "pro_monthly"}]},
        ],
    }  # fmt: skip
    from_json = simulate_scenario(load_scenario(_write(tmp_path, json.dumps(document), "b.json")))
    from_toml = simulate_scenario(load_scenario(_write(tmp_path, BASE)))
    day = from_json.until
    assert truth(from_json, day) == truth(from_toml, day)
    assert truth(from_json, day)["mrr_by_currency"] == {"usd": 100.00}

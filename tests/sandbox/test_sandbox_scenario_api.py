"""A scenario served over real HTTP through the stripe SDK looks like Stripe; the CLI serves it,
tells its truth and prints its stats."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from collections.abc import Iterator

import pytest
import stripe

from sandbox.api.server import SandboxServer, start_server
from sandbox.cli import configure_parser, main
from sandbox.scenario import example, load_scenario, scenario_ids, simulate_scenario
from sandbox.sim import Simulation
from sandbox.truth.stats import format_stats, monthly_stats


@pytest.fixture(scope="module")
def coupons() -> Simulation:
    return simulate_scenario(load_scenario(example("coupons")))


@pytest.fixture(scope="module")
def client(coupons: Simulation) -> Iterator[stripe.StripeClient]:
    server: SandboxServer = start_server(coupons)
    yield stripe.StripeClient(
        server.api_key, base_addresses={"api": server.url}, max_network_retries=0
    )
    server.shutdown()


def test_a_scenario_subscription_has_its_items_named_prices_and_discount(
    coupons: Simulation, client: stripe.StripeClient
) -> None:
    ids = scenario_ids(coupons)
    sub = client.v1.subscriptions.retrieve(ids["forever_20"], params={"expand": ["discounts"]})
    assert sub.status == "active"
    assert sub.customer == ids["c_1"]
    assert sub.metadata["scenario_name"] == "forever_20"
    item = sub["items"].data[0]
    assert (item.price.id, item.price.lookup_key, item.quantity) == (
        ids["pro_monthly"], "pro_monthly", 1,
    )  # fmt: skip
    assert item.price.unit_amount == 10000 and item.price.recurring.interval == "month"
    assert sub.discounts[0].source.coupon == "FOREVER20"
    assert client.v1.coupons.retrieve("FOREVER20").times_redeemed == 1


def test_a_discounted_invoice_has_lines_with_discount_amounts(
    coupons: Simulation, client: stripe.StripeClient
) -> None:
    ids = scenario_ids(coupons)
    invoices = client.v1.invoices.list(params={"subscription": ids["forever_20"]}).data
    assert [i.total for i in invoices] == [8000, 8000, 8000, 8000]
    latest = invoices[0]
    assert (latest.subtotal, latest.status, latest.currency) == (10000, "paid", "usd")
    assert latest.total_discount_amounts[0].amount == 2000
    lines = client.v1.invoices.line_items.list(latest.id).data
    assert [(line.amount, line.discount_amounts[0].amount) for line in lines] == [(10000, 2000)]
    assert lines[0].pricing.price_details.price == ids["pro_monthly"]
    assert latest.parent.subscription_details.subscription == ids["forever_20"]


def test_renewals_emit_subscription_updates_with_previous_attributes(
    client: stripe.StripeClient,
) -> None:
    events = client.v1.events.list(
        params={"type": "customer.subscription.updated", "limit": 100}
    ).data
    assert events, "the April renewals fall inside the 30-day window"
    assert all("items" in e.data.previous_attributes for e in events)
    kinds = {e.type for e in client.v1.events.list(params={"limit": 100}).data}
    assert {"invoice.created", "invoice.paid", "charge.succeeded"} <= kinds


def test_charges_carry_the_cards_the_file_describes() -> None:
    sim = simulate_scenario(load_scenario(example("currencies")))
    ids = scenario_ids(sim)
    server = start_server(sim)
    try:
        client = stripe.StripeClient(
            server.api_key, base_addresses={"api": server.url}, max_network_retries=0
        )
        charge = client.v1.charges.list(params={"customer": ids["pat"], "limit": 1}).data[0]
    finally:
        server.shutdown()
    card = charge.payment_method_details.card
    assert (charge.amount, charge.currency, card.brand, card.country) == (
        45000,
        "jpy",
        "amex",
        "JP",
    )


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="paylens sandbox")
    configure_parser(parser, dt.date(2030, 1, 1))
    return parser.parse_args(argv)


def test_cli_truth_of_the_spec_example_is_12500_dollars() -> None:
    path = str(example("spec_example"))
    out = io.StringIO()
    assert main(_parse("truth", "--scenario", path, "--as-of", "2025-03-31", "--json"), out) == 0
    report = json.loads(out.getvalue())
    assert report["mrr_by_currency"] == {"usd": 12500.0}
    assert report["active_subscriptions"] == 150


def test_cli_stats_prints_the_scenarios_monthly_figures() -> None:
    path = example("dunning")
    out = io.StringIO()
    assert main(_parse("stats", "--scenario", str(path)), out) == 0
    expected = format_stats(monthly_stats(simulate_scenario(load_scenario(path))))
    assert out.getvalue() == expected + "\n"


def test_cli_refuses_a_broken_scenario_with_one_argparse_error(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _parse("--scenario", "/nonexistent/business.toml")
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert errors == [
        "paylens sandbox: error: argument --scenario: /nonexistent/business.toml: file: "
        "cannot read it (No such file or directory)"
    ]


def test_cli_serve_takes_the_scenarios_simulation() -> None:
    args = _parse("--scenario", str(example("trials")), "--port", "0")
    assert isinstance(args.scenario, Simulation)
    assert args.scenario.preset == "scenario trials"
    assert len(args.scenario.customers) == 3

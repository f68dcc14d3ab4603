"""``paylens sandbox`` flags: parsed by their owners, one clear error each, and really served."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import signal
import threading
import time

import pytest
import stripe

from app.cli import main as paylens
from sandbox.api.faults import FaultPlan, Window
from sandbox.cli import configure_parser, main
from sandbox.sim import simulate, truth
from sandbox.sim.incidents import parse_incident
from sandbox.truth.report import format_truth
from sandbox.truth.stats import format_stats, monthly_stats

TODAY = dt.date(2025, 1, 31)


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="paylens sandbox")
    configure_parser(parser, TODAY)
    return parser.parse_args(argv)


def test_serving_flags_are_parsed_into_their_owners_types() -> None:
    outage = "webhook_outage:endpoint=1,start=2025-01-20T00:00,hours=6"
    args = _parse(
        "--rate", "25", "--endpoint-rate", "10", "--speed", "3600", "--fault-seed", "7",
        "--faults", "500=0.1,window=wall:5-20", "--incident", outage,
        "--restricted-key", "rk_test_a:disputes,events", "--restricted-key", "rk_test_b:charges",
    )  # fmt: skip
    assert (args.rate, args.endpoint_rate, args.speed, args.fault_seed) == (25.0, 10.0, 3600.0, 7)
    assert args.faults == FaultPlan((("500", 0.1),), Window("wall", 5.0, 20.0))
    assert args.incident == [parse_incident(outage)]
    assert args.restricted_key == [
        ("rk_test_a", ["disputes", "events"]),
        ("rk_test_b", ["charges"]),
    ]


def test_without_serving_flags_nothing_is_limited_or_faulted() -> None:
    args = _parse()
    assert (args.rate, args.endpoint_rate, args.faults, args.speed) == (None, None, None, None)
    assert (args.incident, args.restricted_key, args.scenario) == ([], [], None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0"], "argument --rate: expected a positive number, got '0'"),
        (["--speed", "fast"], "argument --speed: expected a number, got 'fast'"),
        (["--faults", "500=2"], "argument --faults: 500: 2 is out of range"),
        (["--incident", "meteor:start=x"], "argument --incident: incident 'meteor:start=x'"),
        (["--restricted-key", "rk_test_a"], "argument --restricted-key: expected KEY:resource"),
        (["--restricted-key", "rk:payouts"], "--restricted-key: unknown resource 'payouts'"),
        (["--preset", "huge"], "argument --preset: invalid choice: 'huge' (choose from 'demo', "
         "'large', 'small')"),
        (["truth", "--preset", "huge", "--as-of", "2025-01-31"], "argument --preset: invalid "
         "choice: 'huge'"),
        (["stats", "--preset", "huge"], "argument --preset: invalid choice: 'huge'"),
    ],
)  # fmt: skip
def test_a_bad_flag_value_is_one_argparse_error_saying_what_is_wrong(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        _parse(*argv)
    assert exited.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert message in errors[0]


def test_paylens_demo_refuses_an_unknown_preset_with_one_argparse_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        paylens(["demo", "--preset", "huge"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "paylens demo: error: argument --preset: invalid choice: 'huge' (choose from 'demo', "
        "'large', 'small')"
    )


def test_truth_without_json_prints_the_headline_figures_as_lines() -> None:
    out = io.StringIO()
    argv = ("truth", "--preset", "small", "--seed", "3", "--as-of", "2025-01-31")
    assert main(_parse(*argv), out) == 0
    assert out.getvalue() == format_truth(truth(simulate(3, TODAY, "small"), TODAY)) + "\n"
    assert out.getvalue().startswith("sandbox truth as of 2025-01-31 (end of day, UTC)\n  MRR ")


def test_the_readable_truth_counts_churns_and_hidden_changes_by_kind() -> None:
    report = {
        "as_of": "2025-01-31",
        "mrr_by_currency": {"eur": 2939.67, "usd": 18777.83},
        "list_mrr_by_currency": {"eur": 3000.0, "usd": 18777.83},
        "active_subscriptions": 117,
        "mrr_by_subscription": {},
        "mrr_by_customer": {"cus_a": 1.0, "cus_b": 2.0},
        "churn_events": [{"cause": c} for c in ("voluntary", "disputed", "voluntary")],
        "reactivations": [],
        "unobservable_changes": [{"kind": "change_without_proration"}],
        "conventions": {"subtract_repeating": True, "subtract_once": False},
        "undelivered_webhooks": [{}, {}],
    }
    assert format_truth(report).splitlines() == [
        "sandbox truth as of 2025-01-31 (end of day, UTC)",
        "  MRR                   2,939.67 EUR, 18,777.83 USD",
        "  MRR before discounts  3,000.00 EUR, 18,777.83 USD",
        "  Subscriptions         117 in MRR, 2 customers",
        "  Churns to date        3 (2 voluntary, 1 disputed)",
        "  Reactivations         0",
        "  Changes not in API    1 (1 change_without_proration)",
        "  Undelivered webhooks  2",
        "  Conventions           subtract_repeating on, subtract_once off",
        "  (--json prints every key: each subscription, customer and churn)",
    ]


def test_stats_prints_the_presets_monthly_figures() -> None:
    out = io.StringIO()
    assert main(_parse("stats", "--preset", "small", "--seed", "3"), out) == 0
    expected = format_stats(monthly_stats(simulate(3, TODAY, "small")))
    assert out.getvalue() == expected + "\n"


def test_serving_with_flags_limits_and_restricts_for_real() -> None:
    args = _parse(
        "--preset", "small", "--port", "0", "--rate", "2", "--restricted-key", "rk_test_c:charges"
    )
    out = io.StringIO()
    seen: list[str] = []

    def use_then_terminate() -> None:
        deadline = time.monotonic() + 10
        while "Press Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        url = re.search(r"URL:\s+(\S+)", out.getvalue())
        if url:
            restricted = stripe.StripeClient(
                "rk_test_c", base_addresses={"api": url.group(1)}, max_network_retries=0
            )
            for call in (restricted.v1.customers.list, restricted.v1.charges.list,
                         restricted.v1.customers.list):  # fmt: skip
                try:
                    call()
                    seen.append("ok")
                except stripe.StripeError as error:
                    seen.append(type(error).__name__)
        os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=use_then_terminate)
    helper.start()
    assert main(args, out) == 0
    helper.join()
    assert seen == ["ok", "PermissionError", "RateLimitError"]
    assert "[rate 2.0; restricted key rk_test_c]" in out.getvalue()

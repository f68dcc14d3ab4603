"""The Payments page's figures, pinned on its own scenario (tests/app/scenario_files/
payments_page.toml, whose header has every number) and checked against `metrics.payments`,
`metrics.dunning` and `metrics.refunds`, whose definitions they share, on it and on the sandbox's
payment_health."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from metrics import payments_views as pv
from metrics.dunning import recovery_rates
from metrics.payments import payment_success_breakdown, payment_success_daily, payment_success_rate
from metrics.refunds import refund_summary
from sandbox.scenario import load_scenario, simulate_scenario
from tests.metrics.scenarios import simulate_named, synced_snapshot

PAGE_SCENARIO = (
    Path(__file__).resolve().parents[1] / "app" / "scenario_files" / "payments_page.toml"
)
AS_OF = date(2025, 2, 28)  # the scenario's last day
LAST_30, LAST_7 = date(2025, 1, 29), date(2025, 2, 21)
RATES = pd.DataFrame({"date": [date(2025, 1, 1)], "currency": ["jpy"], "rate": [0.0065]})
USD = {"reporting_currency": "usd", "rates": RATES}
VISA_BR = {"brand": "visa", "country": "BR"}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    sim = simulate_scenario(load_scenario(PAGE_SCENARIO))
    con = synced_snapshot(sim, tmp_path_factory.mktemp("payments_page"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def health(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = synced_snapshot(simulate_named("payment_health"), tmp_path_factory.mktemp("health"))
    yield con
    con.close()


def test_the_last_30_days_count_charges_and_payment_intents_as_the_header_says(
    page: duckdb.DuckDBPyConnection,
) -> None:
    figures = pv.payment_figures(page, LAST_30, AS_OF, **USD)

    assert (figures.attempted, figures.succeeded, figures.failed) == (57, 46, 11)
    assert (figures.attempted_dedup, figures.succeeded_dedup) == (51, 46)
    assert figures.declined == pv.Volume(11, {"jpy": 980, "usd": 106_000}, 1066.37, "usd")
    assert figures.unrecovered == pv.Volume(5, {"usd": 29_000}, 290.0, "usd")
    # 30 days: the 30 before, (12-30, 01-29], 62 of 62 (the scenario's header)
    assert (figures.baseline_kind, figures.baseline_attempted) == ("previous", 62)
    assert figures.baseline_rate == 1.0 and figures.below_baseline is True
    assert figures.low is not None and figures.high is not None
    assert figures.low < 46 / 57 < figures.high


def test_seven_days_are_judged_against_the_same_days_of_the_four_weeks_before(
    page: duckdb.DuckDBPyConnection,
) -> None:
    figures = pv.payment_figures(page, LAST_7, AS_OF, **USD)

    assert figures.baseline_kind == "weeks"
    assert (figures.attempted, figures.succeeded) == (15, 10)
    assert (figures.attempted_dedup, figures.succeeded_dedup) == (13, 9)
    assert (figures.baseline_attempted, figures.baseline_rate) == (54, 48 / 54)
    assert figures.baseline_change == pytest.approx(10 / 15 - 48 / 54)
    assert figures.below_baseline is True  # the Wilson upper bound, 84.8 %, is under 88.9 %


@pytest.mark.parametrize(
    ("since", "as_of"),
    [(LAST_30, AS_OF), (LAST_7, AS_OF), (date(2024, 12, 1), AS_OF), (LAST_30, date(2025, 2, 5))],
)
def test_the_page_and_metrics_payments_count_the_same_attempts(
    page: duckdb.DuckDBPyConnection, since: date, as_of: date
) -> None:
    figures = pv.payment_figures(page, since, as_of, **USD)

    assert figures.success_rate == payment_success_rate(page, since, as_of)
    assert figures.success_rate_dedup == payment_success_rate(page, since, as_of, dedup=True)
    for dedup in (False, True):
        series = pv.success_series(page, since, as_of, dedup=dedup)
        daily = payment_success_daily(page, since + timedelta(days=1), as_of, dedup=dedup)
        assert series["period"].tolist() == daily["day"].tolist()
        assert series["attempted"].tolist() == daily["attempted"].tolist()
        assert series["succeeded"].tolist() == daily["succeeded"].tolist()


def test_on_payment_health_too_the_rates_are_the_reports(health: duckdb.DuckDBPyConnection) -> None:
    for since, as_of in [
        (date(2025, 1, 31), date(2025, 2, 28)),
        (date(2024, 12, 31), date(2025, 3, 31)),
    ]:
        figures = pv.payment_figures(health, since, as_of, reporting_currency="usd")
        assert figures.success_rate == payment_success_rate(health, since, as_of)
        assert figures.success_rate_dedup == payment_success_rate(health, since, as_of, dedup=True)
    february = pv.payment_figures(
        health, date(2025, 1, 31), date(2025, 2, 28), reporting_currency="usd"
    )
    assert (february.attempted, february.succeeded, february.attempted_dedup) == (12, 7, 8)


def test_each_day_has_the_pooled_baseline_of_its_weekday_and_a_wilson_interval(
    page: duckdb.DuckDBPyConnection,
) -> None:
    series = pv.success_series(page, LAST_30, AS_OF).set_index("period")

    spike = series.loc[date(2025, 2, 26)]
    assert (spike["attempted"], spike["succeeded"], spike["declined"]) == (14, 9, 5)
    assert (spike["baseline_attempted"], spike["baseline_succeeded"]) == (48, 47)  # 4 Wednesdays
    assert spike["baseline_low"] < 47 / 48 < spike["baseline_high"]
    assert spike["high"] < spike["baseline_rate"] and spike["below_baseline"]
    quiet = series.loc[date(2025, 2, 27)]
    assert (
        quiet["attempted"] == 0 and pd.isna(quiet["success_rate"]) and not quiet["below_baseline"]
    )
    assert len(series) == 30 and set(series["days"]) == {1}


def test_weeks_are_iso_weeks_and_the_first_and_last_are_partial(
    page: duckdb.DuckDBPyConnection,
) -> None:
    weeks = pv.success_series(page, LAST_30, AS_OF, grain="week")

    assert weeks["period"].tolist()[0] == date(2025, 1, 27)  # the Monday of 01-30's week
    assert weeks[["days", "attempted", "succeeded"]].values.tolist() == [
        [4, 2, 0], [7, 15, 13], [7, 13, 12], [7, 13, 12], [5, 14, 9],
    ]  # fmt: skip
    last = weeks.iloc[-1]
    assert (last["first_day"], last["last_day"]) == (date(2025, 2, 24), AS_OF)
    # the same 5 days of each of the 4 weeks before: 02-17…21, 02-10…14, 02-03…07, 01-27…31
    assert (last["baseline_attempted"], last["baseline_succeeded"]) == (50, 48)


def test_card_filters_select_a_segment_and_the_decline_filter_its_declines(
    page: duckdb.DuckDBPyConnection,
) -> None:
    day = (date(2025, 2, 25), date(2025, 2, 26))
    segment = pv.payment_figures(page, *day, card=VISA_BR, **USD)
    coded = pv.payment_figures(page, *day, card={**VISA_BR, "decline": "do_not_honor"}, **USD)
    other = pv.payment_figures(page, *day, card={**VISA_BR, "decline": "expired_card"}, **USD)

    assert (segment.attempted, segment.succeeded, segment.declined.count) == (6, 1, 5)
    assert (coded.attempted, coded.succeeded, coded.success_rate) == (6, 1, 1 / 6)  # the segment's
    assert coded.declined == pv.Volume(5, {"usd": 5_000}, 50.0, "usd")
    assert (other.failed, other.declined.count, other.declined.converted) == (5, 0, 0.0)
    assert (segment.baseline_attempted, segment.baseline_rate) == (16, 1.0)
    debit = pv.payment_figures(page, LAST_30, AS_OF, card={"funding": "debit"}, **USD)
    assert (debit.attempted, debit.failed) == (9, 1)  # gb's 4 and ann's 4 + her retry
    with pytest.raises(ValueError, match="unknown card filter"):
        pv.payment_figures(page, LAST_30, AS_OF, card={"bin": "424242"}, **USD)


def test_declines_are_broken_down_by_lost_volume_in_the_shown_currency(
    page: duckdb.DuckDBPyConnection,
) -> None:
    table = pv.decline_breakdown(page, LAST_30, AS_OF, **USD)

    codes = table[table["dimension"] == "decline"]
    assert codes[["value", "declined", "lost"]].values.tolist() == [
        ["generic_decline", 4, 1000.0],
        ["do_not_honor", 5, 50.0],
        ["insufficient_funds", 1, 10.0],
        ["expired_card", 1, 6.37],
    ]
    brands = table[table["dimension"] == "card_brand"]
    assert brands[["value", "attempted", "succeeded", "declined"]].values.tolist() == [
        ["amex", 4, 0, 4], ["visa", 44, 38, 6], ["mastercard", 9, 8, 1],
    ]  # fmt: skip
    assert brands["lost_minor"].tolist()[1] == {"usd": 5_000, "jpy": 980}
    bands = table[table["dimension"] == "amount_band"]
    assert bands[["value", "currency", "lost"]].values.tolist() == [
        ["200-1000", "usd", 1000.0], ["10-50", "usd", 60.0], ["200-1000", "jpy", 6.37],
    ]  # fmt: skip
    assert list(dict.fromkeys(table["dimension"])) == list(pv.DIMENSIONS)
    for dimension in pv.DIMENSIONS:
        rows = table[table["dimension"] == dimension]
        assert rows["declined"].sum() == 11 and rows["failure_share"].sum() == pytest.approx(1)


def test_the_breakdown_counts_failures_as_payment_success_breakdown_does(
    page: duckdb.DuckDBPyConnection,
) -> None:
    ours = pv.decline_breakdown(page, LAST_30, AS_OF, **USD)
    theirs = payment_success_breakdown(page, LAST_30, AS_OF)

    for dimension in ("failure_code", "card_brand", "card_country", "network_decline_code"):
        mine = ours[ours["dimension"] == dimension].set_index("value")["declined"].to_dict()
        reference = theirs[(theirs["dimension"] == dimension) & (theirs["failed"] > 0)]
        assert mine == reference.set_index("value")["failed"].to_dict()


def test_one_currency_needs_no_rate_and_counts_only_its_own(
    page: duckdb.DuckDBPyConnection,
) -> None:
    figures = pv.payment_figures(page, LAST_30, AS_OF, currency="jpy", **USD)

    assert (figures.attempted, figures.succeeded, figures.attempted_dedup) == (2, 1, 1)
    assert figures.declined == pv.Volume(1, {"jpy": 980}, 980.0, "jpy")
    table = pv.decline_breakdown(page, LAST_30, AS_OF, currency="jpy", **USD)
    assert table[table["dimension"] == "decline"][["value", "lost"]].values.tolist() == [
        ["expired_card", 980.0]
    ]


def test_without_a_rate_converted_amounts_are_none_and_say_why(
    page: duckdb.DuckDBPyConnection,
) -> None:
    figures = pv.payment_figures(page, LAST_30, AS_OF, reporting_currency="usd")

    assert figures.declined.converted is None
    assert figures.declined.problem is not None and "JPY" in figures.declined.problem
    assert figures.unrecovered.converted == 290.0  # dollars only
    table = pv.decline_breakdown(page, LAST_30, AS_OF, reporting_currency="usd")
    codes = table[table["dimension"] == "decline"]
    assert codes["value"].tolist()[-1] == "expired_card" and pd.isna(codes["lost"].tolist()[-1])


def test_dunning_says_what_was_recovered_lost_and_is_still_in_retry(
    page: duckdb.DuckDBPyConnection,
) -> None:
    figures = pv.dunning_figures(page, LAST_30, AS_OF, **USD)

    assert figures.failed == pv.Volume(8, {"jpy": 980, "usd": 31_000}, 316.37, "usd")
    assert figures.recovered == pv.Volume(3, {"jpy": 980, "usd": 2_000}, 26.37, "usd")
    assert figures.lost == pv.Volume(1, {"usd": 25_000}, 250.0, "usd")
    assert figures.in_retry == figures.at_risk == pv.Volume(4, {"usd": 4_000}, 40.0, "usd")
    rates = recovery_rates(page, LAST_30, AS_OF, rates=RATES, reporting_currency="usd")
    assert (figures.failure_rate, figures.recovery_rate) == (
        rates.failure_rate,
        rates.recovery_rate,
    )
    yen = pv.dunning_figures(page, LAST_30, AS_OF, currency="jpy", **USD)
    assert (yen.failure_rate, yen.recovery_rate, yen.lost.count) == (1.0, 1.0, 0)


def test_invoices_in_retry_have_their_next_attempt_three_days_after_the_failure(
    page: duckdb.DuckDBPyConnection,
) -> None:
    retrying = pv.retrying_invoices(page, AS_OF)
    rows = pv.failed_subscription_payments(page, LAST_30, AS_OF)

    assert len(retrying) == 4 and set(retrying["subscription_status"]) == {"past_due"}
    assert set(retrying["amount_minor"]) == {1_000} and set(retrying["attempt_count"]) == {1}
    declined = pv.declined_attempts(
        page, LAST_30, AS_OF, card={**VISA_BR, "decline": "do_not_honor"}
    )
    failed_at = {row["customer"]: row["created"] for _, row in declined.iterrows()}
    for _, row in retrying.iterrows():
        assert row["next_payment_attempt"] == failed_at[row["customer"]] + timedelta(days=3)
    assert rows.groupby("outcome").size().to_dict() == {"in_retry": 4, "lost": 1, "recovered": 3}
    assert pv.retrying_invoices(page, date(2025, 2, 25)).empty  # created after that day
    assert pv.retrying_invoices(page, AS_OF, "jpy").empty


def test_refunds_are_the_reports_with_their_reasons(page: duckdb.DuckDBPyConnection) -> None:
    figures = pv.refund_figures(page, LAST_30, AS_OF, **USD)

    assert figures.refunded == pv.Volume(3, {"jpy": 300, "usd": 1_500}, 16.95, "usd")
    assert figures.charged == pv.Volume(46, {"jpy": 980, "usd": 45_000}, 456.37, "usd")
    reference = refund_summary(page, LAST_30, AS_OF, rates=RATES, reporting_currency="usd")
    assert figures.rate == reference.rate == pytest.approx(16.95 / 456.37)
    reasons = pv.refund_reasons(page, LAST_30, AS_OF, **USD)
    assert reasons[["reason", "currency", "refunds", "refunded"]].values.tolist() == [
        ["requested_by_customer", "usd", 1, 10.0],
        ["duplicate", "usd", 1, 5.0],
        ["fraudulent", "jpy", 1, 1.95],
    ]
    dollars = pv.refund_figures(page, LAST_30, AS_OF, currency="usd", **USD)
    assert (dollars.refunded.count, dollars.refunded.converted, dollars.rate) == (2, 15.0, 15 / 450)


def test_the_filters_offer_every_value_on_the_account(page: duckdb.DuckDBPyConnection) -> None:
    assert pv.payment_view_currencies(page) == ["jpy", "usd"]
    assert pv.payment_card_options(page) == {
        "brand": ["amex", "mastercard", "visa"],
        "country": ["BR", "GB", "JP", "US"],
        "funding": ["credit", "debit"],
        "decline": ["do_not_honor", "expired_card", "generic_decline", "insufficient_funds"],
    }


def test_declined_charges_are_listed_newest_first_with_their_customer(
    page: duckdb.DuckDBPyConnection,
) -> None:
    rows = pv.declined_attempts(page, LAST_30, AS_OF)

    assert len(rows) == 11 and rows["created"].is_monotonic_decreasing
    assert rows["decline"].tolist()[-2:] == ["generic_decline", "expired_card"]  # 02-01
    assert isinstance(rows["created"].iloc[0], (datetime, pd.Timestamp))


def test_an_empty_or_backwards_window_is_refused(page: duckdb.DuckDBPyConnection) -> None:
    for call in (pv.payment_figures, pv.decline_breakdown):
        with pytest.raises(ValueError, match="must be before"):
            call(page, AS_OF, AS_OF, reporting_currency="usd")

"""The Payments page, run headless with Streamlit's AppTest on the published snapshot of its own
scenario (tests/app/scenario_files/payments_page.toml: every figure below is in its header),
driven by query parameters as a shared link, or an alert's, would drive it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from alerts.evaluate import Context, evaluate
from alerts.rules import load_rules
from app.report import build_report
from app.settings import load_settings
from metrics.money import format_money
from sandbox.scenario import load_scenario, simulate_scenario
from sync.snapshots import SnapshotReader
from tests.app.pages import metrics, rows, run_page, table
from tests.metrics.scenarios import synced_snapshot

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app" / "views" / "payments.py")
SCENARIO = Path(__file__).resolve().parent / "scenario_files" / "payments_page.toml"
ACCOUNT_DAY = date(2025, 2, 28)  # the scenario's last day: the account's clock at the sync
RATES = "rates/jpy_usd.csv"  # 1 JPY = 0.0065 USD
ANN = "<script>alert('ann')</script> **Ann** [co](http://evil.example)"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the scenario's published snapshot and the header's rates file."""
    path = tmp_path_factory.mktemp("payments_page")
    synced_snapshot(simulate_scenario(load_scenario(SCENARIO)), path).close()
    (path / "rates").mkdir()  # not the default place: without the setting, no rates at all
    (path / RATES).write_text("date,currency,rate_in_usd\n2025-01-01,jpy,0.0065\n")
    return path


def _page(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, rates: bool = True, **params: str
) -> AppTest:
    return run_page(PAGE, monkeypatch, data_dir, params, data_dir / RATES if rates else None)


def _report(data_dir: Path, since: date, as_of: date = ACCOUNT_DAY) -> dict[str, object]:
    reader = SnapshotReader(data_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    try:
        return build_report(con, load_settings(), as_of, since)
    finally:
        reader.close()


def test_the_last_30_days_show_success_declines_dunning_and_refunds_as_the_report_does(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir)

    shown = metrics(at)
    assert shown["Success rate"] == "80.70%"  # 46 of 57 charges
    assert shown["Success rate per PaymentIntent"] == "90.20%"  # 46 of 51
    assert (shown["Charges attempted"], shown["Failed charges"]) == ("57", "11")
    assert shown["Failed volume"] == "$1,066.37"  # $1,060.00 + ¥980 at 0.0065
    assert shown["Never paid"] == "$290.00"  # big's $250 and br's 4 × $10
    # 30 days are judged against the 30 before: 62 of 62 charges succeeded
    assert (shown["Baseline"], shown["Health"]) == ("100.00%", "critical")
    assert at.metric[0].delta == "-19.30 pp vs baseline"
    assert rows(table(at, "Decline code"), "Decline code", "Declines", "Lost volume") == [
        ["generic_decline", 4, "$1,000.00"],
        ["do_not_honor", 5, "$50.00"],
        ["insufficient_funds", 1, "$10.00"],
        ["expired_card", 1, "$6.37"],
    ]  # sorted by lost volume, not by count
    by = {label: _page(monkeypatch, data_dir, declines_by=label)
          for label in ("Brand", "Amount band", "Funding")}  # fmt: skip
    assert rows(table(by["Brand"], "Brand"), "Brand", "Declines", "Attempts", "Lost volume") == [
        ["amex", 4, 4, "$1,000.00"],
        ["visa", 6, 44, "$56.37"],
        ["mastercard", 1, 9, "$10.00"],
    ]
    assert rows(table(by["Amount band"], "Amount band"), "Amount band", "Lost volume") == [
        ["200-1000 (USD)", "$1,000.00"],
        ["10-50 (USD)", "$60.00"],
        ["200-1000 (JPY)", "$6.37"],
    ]
    assert table(by["Funding"], "Funding")["Funding"].tolist() == ["credit", "debit"]

    assert (shown["Recovered"], shown["Lost"]) == ("$26.37", "$250.00")  # ann's, late's, jp's
    assert (shown["Still in retry"], shown["Revenue at risk"]) == ("$40.00", "$40.00")
    retrying = table(at, "Next attempt (UTC)", "Amount due")
    assert retrying["Customer name"].tolist() == ["Br 2", "Br 1", "Br 4", "Br 3"]
    assert set(retrying["Next attempt (UTC)"].str[:10]) == {"2025-03-01"}
    assert set(retrying["Amount due"]) == {"$10.00"}
    failed = table(at, "Created (UTC)", "Outcome")
    outcomes = dict(zip(failed["Customer name"], failed["Outcome"], strict=True))
    assert outcomes == {"Big": "lost", "Jp": "recovered", ANN: "recovered", "Late": "recovered",
                        "Br 1": "in retry", "Br 2": "in retry", "Br 3": "in retry",
                        "Br 4": "in retry"}  # fmt: skip
    assert any("not available" in info.value and "exp_month" in info.value for info in at.info)

    assert (shown["Refunded"], shown["Refund rate"], shown["Refunds"]) == ("$16.95", "3.71%", "3")
    reasons = table(at, "Reason")
    assert rows(reasons, "Reason", "Amount", "Amount (USD)") == [
        ["requested_by_customer", "$10.00", "$10.00"],
        ["duplicate", "$5.00", "$5.00"],
        ["fraudulent", "¥300", "$1.95"],
    ]
    # every table shown has its CSV (the decline dimensions' tabs: the open one only)
    assert len(at.get("download_button")) == len(at.dataframe) == 6
    assert dict(at.query_params) == {}  # the defaults: 30 days, USD, every card

    report = _report(data_dir, ACCOUNT_DAY - timedelta(days=30))
    assert shown["Success rate"] == f"{report['payment_success_rate']:.2%}"
    assert shown["Success rate per PaymentIntent"] == f"{report['payment_success_rate_dedup']:.2%}"
    assert shown["Failure rate"] == f"{report['failure_rate']:.2%}" == "42.39%"
    assert shown["Recovery rate"] == f"{report['recovery_rate']:.2%}" == "8.34%"
    refunds = report["refunds"]
    assert isinstance(refunds, dict)
    assert shown["Refunded"] == format_money(refunds["amount"], "usd")
    assert shown["Refund rate"] == f"{refunds['rate']:.2%}"


def test_the_link_an_alert_sends_opens_the_page_on_its_window_and_card_segment(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    reader = SnapshotReader(data_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    rules = [rule for rule in load_rules(None) if rule.metric == "payment_success"]
    at_time = datetime(2025, 2, 26, 14, tzinfo=UTC)
    (reading,) = evaluate(con, rules, Context(at=at_time, sync_interval=timedelta(minutes=5)))
    reader.close()
    link = dict(reading.query)
    assert (reading.page, link) == ("payments", {
        "from": "2025-02-25T14:00:00+00:00", "to": "2025-02-26T14:00:00+00:00",
        "brand": "visa", "country": "BR", "decline": "do_not_honor"})  # fmt: skip

    at = _page(monkeypatch, data_dir, **link)

    kept = {key: at.query_params[key] for key in at.query_params if key != "range"}
    assert kept == {**link, "from": "2025-02-25", "to": "2025-02-26"}  # days, as the page shows
    assert [box.value for box in at.sidebar.selectbox] == [
        "Custom", "USD (all, converted)", "visa", "BR", "all", "do_not_honor"]  # fmt: skip
    shown = metrics(at)
    assert shown["Success rate"] == "16.67%"  # Visa BR on 02-26: 1 of 6 (late's retry)
    assert (shown["Charges attempted"], shown["Failed charges"]) == ("6", "5")
    assert shown["Declined with do_not_honor"] == "$50.00"
    assert shown["Baseline"] == "100.00%"  # its 16 charges of the 4 Wednesdays before all paid
    assert at.metric[0].delta == "-83.33 pp vs baseline"
    assert "significantly below its baseline" in at.error[0].value
    assert table(at, "Decline code")["Decline code"].tolist() == ["do_not_honor"]
    by_country = _page(monkeypatch, data_dir, **link, declines_by="Country")
    assert rows(table(by_country, "Country"), "Country", "Declines", "Attempts") == [["BR", 5, 6]]
    declined = table(at, "Created (UTC)", "Decline code")
    assert declined["Customer name"].tolist() == ["Br 3", "Br 4", "Br 1", "Br 2", "Late"]

    # without the card filters, the window is what the alert measured
    window = {key: link[key] for key in ("from", "to")}
    whole = metrics(_page(monkeypatch, data_dir, **window))
    assert whole["Success rate"] == f"{reading.value:.2%}" == "64.29%"  # 9 of 14
    # the page counts whole UTC days (02-25 and 02-26): its baseline days take in big's and
    # jp's charges of 02-04 (48 of 50), which the alert's hours (from 14:00) leave out (47 of 48)
    assert (whole["Baseline"], f"{reading.baseline:.2%}") == ("96.00%", "97.92%")
    assert whole["Failed volume"] == "$50.00"


def test_seven_days_have_a_baseline_and_one_currency_shows_only_its_own(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    week = _page(monkeypatch, data_dir, range="7d")
    shown = metrics(week)
    assert (shown["Success rate"], shown["Success rate per PaymentIntent"]) == ("66.67%", "69.23%")
    assert (shown["Charges attempted"], shown["Baseline"]) == ("15", "88.89%")  # 48 of 54
    assert week.metric[0].delta == "-22.22 pp vs baseline"
    series = table(week, "Period", "Baseline")
    assert rows(series[series["Attempts"] > 0], "Period", "Attempts", "Success rate",
                 "Per PaymentIntent", "Baseline", "Below baseline") == [
        ["2025-02-22", 1, "100.00%", "n/a", "0.00%", ""],
        ["2025-02-26", 14, "64.29%", "69.23%", "97.92%", "yes"],
    ]  # fmt: skip
    report = _report(data_dir, ACCOUNT_DAY - timedelta(days=7))
    assert shown["Success rate"] == f"{report['payment_success_rate']:.2%}"

    yen = metrics(_page(monkeypatch, data_dir, currency="jpy"))
    assert (yen["Success rate"], yen["Charges attempted"]) == ("50.00%", "2")  # jp's 02-01, 02-04
    assert (yen["Failed volume"], yen["Never paid"]) == ("¥980", "¥0")
    assert (yen["Recovered"], yen["Failure rate"], yen["Recovery rate"]) == (
        "¥980", "100.00%", "100.00%")  # fmt: skip
    assert (yen["Refunded"], yen["Refund rate"]) == ("¥300", "30.61%")


def test_long_ranges_are_weekly_and_the_grain_is_a_query_parameter(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir, range="12m")
    series = table(at, "Period", "Baseline")
    assert rows(series.tail(2), "Period", "Days", "Attempts", "Success rate") == [
        ["2025-W08 (02-17 – 02-23)", 7, 13, "92.31%"],
        ["2025-W09 (02-24 – 02-28)", 5, 14, "64.29%"],
    ]
    assert at.sidebar.radio[0].value == "week" and dict(at.query_params) == {"range": "12m"}

    daily = _page(monkeypatch, data_dir, range="12m", grain="day")
    assert table(daily, "Period", "Baseline")["Period"].tolist()[-1] == "2025-02-28"
    assert dict(daily.query_params) == {"range": "12m", "grain": "day"}


def test_without_rates_amounts_in_other_currencies_are_shown_apart_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir, rates=False)

    shown = metrics(at)
    assert shown["Failed volume"] == "¥980 + $1,060.00"
    assert shown["Never paid"] == "$290.00"  # dollars only: nothing to convert
    assert (shown["Refunded"], shown["Refund rate"]) == ("¥300 + $15.00", "n/a")
    assert "JPY" in at.warning[0].value and "PAYLENS_FX_RATES_FILE" in at.warning[0].value
    decline = table(at, "Decline code")
    assert decline["Lost volume"].tolist()[-1] == "¥980"


def test_one_decline_dimension_is_built_at_a_time_and_the_url_names_it(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir)
    columns = [frame.value.columns[0] for frame in at.dataframe]
    assert "Decline code" in columns and "Brand" not in columns  # the first tab, alone
    assert "declines_by" not in at.query_params  # the default is left out of the link

    at = _page(monkeypatch, data_dir, declines_by="Brand")
    columns = [frame.value.columns[0] for frame in at.dataframe]
    assert "Brand" in columns and "Decline code" not in columns
    assert at.query_params["declines_by"] == "Brand"


def test_account_text_is_shown_as_typed_and_never_rendered_as_markup(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir)

    assert ANN in table(at, "Created (UTC)", "Decline code")["Customer name"].tolist()
    markup = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success]
    assert not any("<script>" in element.value or "evil.example" in element.value
                   for element in markup)  # fmt: skip


def test_before_the_first_sync_the_page_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert "Nothing has been synced yet" in at.info[0].value

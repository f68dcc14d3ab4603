"""The Revenue page, run headless with Streamlit's AppTest on the published snapshot of its own
scenario (tests/app/scenario_files/revenue_page.toml: every figure below is in its header),
driven by query parameters as a shared link would drive it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.report import build_report
from app.settings import load_settings
from metrics.money import format_money
from sandbox.scenario import load_scenario, simulate_scenario
from sync.snapshots import SnapshotReader
from tests.app.pages import metrics, rows, run_page, table
from tests.metrics.scenarios import simulate_named, synced_snapshot

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "app" / "views" / "revenue.py")
SCENARIO = Path(__file__).resolve().parent / "scenario_files" / "revenue_page.toml"
ACCOUNT_DAY = date(2025, 4, 30)  # the scenario's last day: the account's clock at the sync
RATES = "rates/eur_usd.csv"
HOSTILE = "<script>alert('ann')</script> **Ann** [co](http://evil.example)"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the scenario's published snapshot and the header's rates file."""
    path = tmp_path_factory.mktemp("revenue_page")
    synced_snapshot(simulate_scenario(load_scenario(SCENARIO)), path).close()
    (path / "rates").mkdir()  # not the default place: without the setting, no rates at all
    (path / RATES).write_text(
        "date,currency,rate_in_usd\n2025-01-01,eur,1.10\n2025-03-01,eur,1.20\n"
    )
    return path


def _page(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, params: dict[str, str], rates: bool = True
) -> AppTest:
    """The page run once with `params` as its query parameters."""
    return run_page(PAGE, monkeypatch, data_dir, params, data_dir / RATES if rates else None)


def test_twelve_months_by_month_show_the_scenarios_mrr_and_movements(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    twelve = {"range": "12m", "grain": "month"}
    at = _page(monkeypatch, data_dir, twelve)

    shown = metrics(at)
    assert shown["MRR"] == "$566.00"  # $350 + €180 at 1.20
    assert shown["ARR"] == "$6,792.00"
    assert shown["Net new MRR"] == "+$566.00"
    assert shown["Active customers"] == "5"
    assert shown["ARPU"] == "$113.20"
    moves = table(at, "Period", "Contraction")
    kinds = ["New", "Reactivation", "Expansion", "Contraction", "Churn", "Fx", "End MRR"]
    assert rows(moves[moves["Period"] >= "2025-01"], "Period", *kinds) == [
        ["2025-01", "$499.00", "$0.00", "$0.00", "$0.00", "$0.00", "$0.00", "$499.00"],
        ["2025-02", "$0.00", "$0.00", "$100.00", "$0.00", "$100.00", "$0.00", "$499.00"],
        ["2025-03", "$108.00", "$0.00", "$0.00", "$50.00", "$100.00", "$9.00", "$466.00"],
        ["2025-04", "$0.00", "$100.00", "$0.00", "$0.00", "$0.00", "$0.00", "$566.00"],
    ]
    assert len(moves) == 12 and set(moves["End MRR"][:8]) == {"$0.00"}  # quiet months shown
    series = table(at, "Period", "ARR")
    assert series["MRR"].tolist()[-4:] == ["$499.00", "$499.00", "$466.00", "$566.00"]
    assert at.sidebar.radio[0].value == "month"
    assert dict(at.query_params) == {"range": "12m"}  # month is 12 months' default grain

    reader = SnapshotReader(data_dir / "snapshots")
    con = reader.connection()
    assert con is not None
    report = build_report(con, load_settings(), ACCOUNT_DAY, date(2024, 4, 30))
    reader.close()
    assert shown["MRR"] == format_money(report["mrr"], "usd")
    assert shown["ARR"] == format_money(report["arr"], "usd")
    assert shown["Active customers"] == f"{report['active_customers']:,}"
    assert shown["Trial conversion (paylens)"] == f"{report['trial_conversion_rate']:.2%}"
    assert shown["Share of churn"] == f"{report['involuntary_share']:.2%}" == "50.00%"
    assert rows(table(at, "Plan"), "Plan", "MRR", "MRR (USD)", "Share") == [
        ["pro_usd", "$300.00", "$300.00", "53.00%"],
        ["pro_eur", "€180.00", "$216.00", "38.16%"],
        ["basic_usd", "$50.00", "$50.00", "8.83%"],
    ]
    assert len(at.get("download_button")) == len(at.dataframe) == 7  # every table has its CSV
    # the breakdowns, one tab at a time: ?mrr_by= names the open one
    assert "Product" not in [frame.value.columns[0] for frame in at.dataframe]
    by_currency = _page(monkeypatch, data_dir, twelve | {"mrr_by": "By currency"})
    assert rows(table(by_currency, "Currency", "ARPU"), "Currency", "MRR", "ARR", "ARPU") == [
        ["USD", "$350.00", "$4,200.00", "$116.67"],
        ["EUR", "€180.00", "€2,160.00", "€90.00"],
    ]
    assert "Plan" not in [frame.value.columns[0] for frame in by_currency.dataframe]
    by_product = _page(monkeypatch, data_dir, twelve | {"mrr_by": "By product"})
    assert rows(table(by_product, "Product"), "Product", "Currency", "MRR (USD)") == [
        ["Pro", "USD", "$300.00"],
        ["Pro", "EUR", "$216.00"],
        ["Basic", "USD", "$50.00"],
    ]


def test_range_grain_and_currency_from_the_link_apply(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir, {"range": "90d", "grain": "month", "currency": "eur"})

    shown = metrics(at)
    assert shown["MRR"] == "€180.00"
    assert shown["ARR"] == "€2,160.00"
    assert shown["Net new MRR"] == "+€90.00"  # eve's conversion; the USD moves are left out
    assert shown["Active customers"] == "2"
    moves = table(at, "Period", "Contraction")
    assert rows(moves, "Period", "Start MRR", "New", "Fx", "End MRR") == [
        ["2025-01", "€90.00", "€0.00", "€0.00", "€90.00"],  # only 2025-01-31: since 2025-01-30
        ["2025-02", "€90.00", "€0.00", "€0.00", "€90.00"],
        ["2025-03", "€90.00", "€90.00", "€0.00", "€180.00"],
        ["2025-04", "€180.00", "€0.00", "€0.00", "€180.00"],
    ]
    assert rows(table(at, "Plan"), "Plan", "MRR") == [["pro_eur", "€180.00"]]
    assert at.sidebar.selectbox(key="filter_currency").value == "EUR"
    assert at.sidebar.radio[0].value == "month"
    assert dict(at.query_params) == {"range": "90d", "grain": "month", "currency": "eur"}


def test_a_custom_range_by_week_shows_february_week_by_week(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    february = {"range": "custom", "from": "2025-02-01", "to": "2025-02-28", "grain": "week"}
    at = _page(monkeypatch, data_dir, february)

    moves = table(at, "Period", "Contraction")
    assert rows(moves, "Period", "Expansion", "Churn", "End MRR") == [
        ["2025-W05", "$0.00", "$0.00", "$499.00"],  # Saturday 1 and Sunday 2 February
        ["2025-W06", "$0.00", "$0.00", "$499.00"],
        ["2025-W07", "$100.00", "$0.00", "$599.00"],  # ann's second seat on the 10th
        ["2025-W08", "$0.00", "$100.00", "$499.00"],  # cat cancels on the 20th
        ["2025-W09", "$0.00", "$0.00", "$499.00"],
    ]
    shown = metrics(at)
    assert shown["Customer churn"] == "20.00%"  # 1 of the 5 paying on 31 January
    assert shown["Net new MRR"] == "$0.00"
    assert at.query_params["grain"] == "week"
    assert (at.query_params["from"], at.query_params["to"]) == ("2025-02-01", "2025-02-28")
    at.sidebar.radio[0].set_value("day").run()  # a month's default grain: left out of the link
    assert "grain" not in at.query_params
    assert len(table(at, "Period", "Contraction")) == 28
    at.query_params["grain"] = "month"  # the URL changed from outside: it decides
    at.run()
    assert at.sidebar.radio[0].value == "month"
    assert table(at, "Period", "Contraction")["Period"].tolist() == ["2025-02"]


def test_choosing_a_period_and_a_movement_shows_the_customers_behind_it(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir, {"range": "12m"})
    assert any("select a bar" in md.value for md in at.markdown)

    at.selectbox(key="drill_period").select("2025-03").run()
    at.selectbox(key="drill_kind").select("churn").run()
    who = table(at, "Customer", "Amount")
    assert rows(who, "Name", "Amount", "MRR before", "MRR after") == [
        ["Fay", "$100.00", "$100.00", "$0.00"]
    ]
    at.selectbox(key="drill_kind").select("contraction").run()
    assert rows(table(at, "Customer", "Amount"), "Name", "Amount") == [["Ben", "$50.00"]]
    subs = table(at, "Day", "Items before")
    assert rows(subs, "Name", "Items before", "Items after", "Change") == [
        ["Ben", "pro_usd × 1", "basic_usd × 1", "-$50.00"]
    ]
    at.selectbox(key="drill_kind").select("new").run()
    assert rows(table(at, "Customer", "Amount"), "Name", "Currency", "Amount") == [
        ["Eve", "EUR", "€90.00"]  # in its own currency
    ]
    at.selectbox(key="drill_kind").select("reactivation").run()
    assert any("No reactivation MRR in 2025-03" in info.value for info in at.info)
    at.sidebar.radio[0].set_value("week").run()  # "2025-03" is no week: the choice is dropped
    assert not at.exception
    assert at.selectbox(key="drill_period").value == "—"


def test_a_cohort_cell_shows_its_customers_and_names_stay_plain_text(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir, {"range": "12m"})
    grid = table(at, "Cohort", "Revenue retention")
    columns = ["Cohort", "Months since signup", "Still paying", "Customer retention", "MRR"]
    assert rows(grid, *columns, "Revenue retention") == [
        ["2025-01", 0, 5, "100.00%", "$508.00", "100.00%"],  # $400 + €90, at 1.20 throughout
        ["2025-01", 1, 4, "80.00%", "$508.00", "100.00%"],
        ["2025-01", 2, 3, "60.00%", "$358.00", "70.47%"],
        ["2025-01", 3, 4, "80.00%", "$458.00", "90.16%"],
        ["2025-03", 0, 1, "100.00%", "$108.00", "100.00%"],
        ["2025-03", 1, 1, "100.00%", "$108.00", "100.00%"],
    ]

    at.selectbox(key="drill_cohort").select("2025-01").run()
    at.selectbox(key="drill_months").select(2).run()
    people = table(at, "Customer", "MRR at signup")
    assert rows(people, "Name", "MRR at month end", "Still paying") == [
        [HOSTILE, "$200.00", True],  # shown as typed, in a table cell: never markup
        ["Dan", "€90.00", True],
        ["Ben", "$50.00", True],
        ["Cat", "$0.00", False],
        ["Fay", "$0.00", False],
    ]
    changes = table(at, "Day", "Items before")
    assert rows(changes, "Name", "Movement") == [["Ben", "contraction"], ["Fay", "churn"]]
    rendered = [element.value for element in [*at.markdown, *at.caption, *at.info]]
    assert not any("evil.example" in str(text) or "<script>" in str(text) for text in rendered)


def test_without_rates_the_page_says_so_and_one_currency_still_shows(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    at = _page(monkeypatch, data_dir, {"range": "12m"}, rates=False)
    assert metrics(at)["MRR"] == "n/a"
    assert any("EUR" in warning.value.upper() for warning in at.warning)

    eur = _page(monkeypatch, data_dir, {"range": "12m", "currency": "eur"}, rates=False)
    assert metrics(eur)["MRR"] == "€180.00"
    assert table(eur, "Period", "Contraction")["End MRR"].tolist()[-1] == "€180.00"
    # the account-wide figures (churn rates, NRR) still need the rates: said once, by the summary
    assert [warning.value for warning in eur.warning] == [at.warning[0].value]


def test_changes_the_api_cannot_date_show_the_summarys_caveat(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    synced_snapshot(simulate_named("undated_changes"), tmp_path).close()
    at = _page(monkeypatch, tmp_path, {"range": "90d"})

    reader = SnapshotReader(tmp_path / "snapshots")
    con = reader.connection()
    assert con is not None
    day = date(2025, 6, 30)
    report = build_report(con, load_settings(), day, day - timedelta(days=90))
    reader.close()
    caveat = [text for text in report["warnings"] if "unknown date" in text]
    assert caveat and caveat[0] in [warning.value for warning in at.warning]


@pytest.fixture(scope="module")
def cancellations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox's cancellations scenario: iris asks on 2025-02-15 to cancel at period end
    (2025-03-05), so the MRR settings decide whether she is in MRR in between."""
    path = tmp_path_factory.mktemp("revenue_cancellations")
    synced_snapshot(simulate_named("cancellations"), path).close()
    return path


def test_every_section_uses_the_accounts_mrr_settings(
    monkeypatch: pytest.MonkeyPatch, cancellations: Path
) -> None:
    """With churn_at_period_end, iris stays in MRR until 2025-03-05: the headline, the table
    by currency, one currency's headline and the cohort grid all count her (each section
    reads the same settings as the report)."""
    monkeypatch.setenv("PAYLENS_MRR_CHURN_AT_PERIOD_END", "true")
    params = {"range": "custom", "from": "2025-01-01", "to": "2025-02-28"}
    at = run_page(PAGE, monkeypatch, cancellations, params, None)

    assert metrics(at)["MRR"] == "$100.00"
    by_currency = run_page(
        PAGE, monkeypatch, cancellations, params | {"mrr_by": "By currency"}, None
    )
    assert rows(table(by_currency, "Currency", "ARPU"), "Currency", "MRR") == [["USD", "$100.00"]]
    cohort = table(at, "Cohort", "Still paying")
    assert rows(cohort, "Cohort", "Months since signup", "Still paying", "MRR") == [
        ["2025-01", 0, 2, "$200.00"],
        ["2025-01", 1, 1, "$100.00"],  # iris, at the end of February
    ]
    one = run_page(PAGE, monkeypatch, cancellations, {**params, "currency": "usd"}, None)
    assert metrics(one)["MRR"] == "$100.00"

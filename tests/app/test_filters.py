"""The shared sidebar (app/filters.py): query parameters restore the filters, an alert's link
opens its window and segment, what is written back is minimal, and the range arithmetic (the
account's day, 12 months from 29 February) is exact. The page is tests/app/filters_script.py:
the sidebar on an in-memory warehouse whose last sync heard Stripe at PAYLENS_TEST_HEARD."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from app.filters import Filters, _range_from, account_day, period, query

SCRIPT = str(Path(__file__).with_name("filters_script.py"))
HEARD = "2025-03-20 23:59:59"  # the account's day: 2025-03-20


def _page(
    monkeypatch: pytest.MonkeyPatch, params: dict[str, str], *, card: bool = False,
    heard: str = HEARD,
) -> AppTest:  # fmt: skip
    monkeypatch.setenv("PAYLENS_TEST_HEARD", heard)
    if card:
        monkeypatch.setenv("PAYLENS_TEST_CARD", "1")
    at = AppTest.from_file(SCRIPT, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _chosen(at: AppTest) -> dict[str, Any]:
    assert not at.exception
    result: dict[str, Any] = json.loads(at.text[0].value)
    return result


def _sidebar(at: AppTest) -> dict[str, Any]:
    return {box.label: box.value for box in at.sidebar.selectbox}


def test_without_parameters_the_range_is_the_reports_30_days_to_the_accounts_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = _page(monkeypatch, {})
    assert _chosen(at) == {
        "range": "30d", "since": "2025-02-18", "as_of": "2025-03-20", "currency": None,
        "card": {}, "days": 30,
    }  # fmt: skip
    assert _sidebar(at) == {"Range": "Last 30 days", "Currency": "USD (all, converted)"}
    assert at.query_params == {}  # the defaults are not written into the link


def test_query_parameters_restore_range_end_and_currency(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(monkeypatch, {"range": "7d", "to": "2025-03-10", "currency": "eur"})
    assert _chosen(at) == {
        "range": "7d", "since": "2025-03-03", "as_of": "2025-03-10", "currency": "eur",
        "card": {}, "days": 7,
    }  # fmt: skip
    assert _sidebar(at) == {"Range": "Last 7 days", "Currency": "EUR"}
    assert at.query_params == {"range": "7d", "to": "2025-03-10", "currency": "eur"}


def test_an_alert_link_opens_a_custom_range_on_its_window_with_the_brand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    link = {
        "from": "2025-03-01T00:39:59+00:00", "to": "2025-03-01T01:39:59+00:00", "brand": "visa",
    }  # fmt: skip
    at = _page(monkeypatch, link, card=True)
    chosen = _chosen(at)
    assert (chosen["range"], chosen["since"], chosen["as_of"]) == (
        "custom",
        "2025-02-28",
        "2025-03-01",
    )
    assert chosen["card"] == {"brand": "visa"}
    assert _sidebar(at) == {
        "Range": "Custom", "Currency": "USD (all, converted)", "Brand": "visa", "Country": "all",
    }  # fmt: skip
    assert at.sidebar.date_input[0].value == (date(2025, 3, 1), date(2025, 3, 1))
    # written back minimal: days, not times, and no `range=custom` (a `from` says so)
    assert at.query_params == {"from": "2025-03-01", "to": "2025-03-01", "brand": "visa"}


def test_a_linked_card_value_the_options_lack_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(monkeypatch, {"brand": "amex", "country": "BR"}, card=True)
    assert _chosen(at)["card"] == {"brand": "amex", "country": "BR"}
    assert at.sidebar.selectbox[2].options == ["all", "mastercard", "visa", "amex"]


def test_a_pages_own_parameters_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(monkeypatch, {"range": "30d", "grain": "week", "dispute": "du_1"})
    assert at.query_params == {"grain": "week", "dispute": "du_1"}  # `range=30d` is the default
    at.sidebar.selectbox[0].select("Last 90 days").run()
    assert at.query_params == {"grain": "week", "dispute": "du_1", "range": "90d"}


def test_a_preset_picked_in_the_sidebar_ends_on_the_accounts_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = _page(monkeypatch, {"from": "2025-01-01", "to": "2025-01-31", "currency": "eur"})
    assert _chosen(at)["days"] == 31
    at.sidebar.selectbox[0].select("Last 7 days").run()
    assert (_chosen(at)["since"], _chosen(at)["as_of"]) == ("2025-03-13", "2025-03-20")
    assert at.query_params == {"range": "7d", "currency": "eur"}
    at.sidebar.selectbox[0].select("Last 30 days").run()
    at.sidebar.selectbox[1].select("USD (all, converted)").run()
    assert at.query_params == {}


def test_dates_picked_for_a_custom_range_go_into_the_link(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(monkeypatch, {"range": "custom"})
    assert (_chosen(at)["since"], _chosen(at)["as_of"]) == ("2025-02-18", "2025-03-20")
    at.sidebar.date_input[0].set_value((date(2025, 2, 1), date(2025, 2, 28))).run()
    assert (_chosen(at)["since"], _chosen(at)["as_of"]) == ("2025-01-31", "2025-02-28")
    assert at.query_params == {"from": "2025-02-01", "to": "2025-02-28"}


def test_a_link_followed_in_an_open_session_rebuilds_the_sidebar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = _page(monkeypatch, {"range": "7d"}, card=True)
    at.sidebar.selectbox[2].select("mastercard").run()
    assert at.query_params == {"range": "7d", "brand": "mastercard"}
    at.query_params.clear()  # the URL changes from outside the sidebar (a link, back button)
    at.query_params["range"] = "90d"
    at.query_params["country"] = "US"
    at.run()
    assert _chosen(at)["range"] == "90d"
    assert _chosen(at)["card"] == {"country": "US"}
    assert _sidebar(at)["Brand"] == "all"


def test_twelve_months_to_29_february_start_after_28_february_of_the_year_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = _page(monkeypatch, {"range": "12m"}, heard="2024-02-29 10:00:00")
    chosen = _chosen(at)
    assert (chosen["since"], chosen["as_of"], chosen["days"]) == ("2023-02-28", "2024-02-29", 366)
    assert at.query_params == {"range": "12m"}


@pytest.mark.parametrize(
    ("preset", "as_of", "since"),
    [
        ("7d", date(2025, 3, 20), date(2025, 3, 13)),
        ("30d", date(2025, 3, 20), date(2025, 2, 18)),
        ("90d", date(2025, 3, 20), date(2024, 12, 20)),
        ("12m", date(2025, 3, 20), date(2024, 3, 20)),
        ("12m", date(2024, 2, 29), date(2023, 2, 28)),
        ("12m", date(2025, 2, 28), date(2024, 2, 28)),
        ("30d", date(2024, 3, 1), date(2024, 1, 31)),
    ],
)
def test_a_preset_starts_exactly_its_length_before_its_end(
    preset: str, as_of: date, since: date
) -> None:
    assert period(preset, as_of) == since


def test_custom_is_not_a_preset() -> None:
    with pytest.raises(ValueError, match="not a preset"):
        period("custom", date(2025, 3, 20))


TODAY = date(2025, 3, 20)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ("30d", date(2025, 2, 18), TODAY)),
        ({"range": "nonsense"}, ("30d", date(2025, 2, 18), TODAY)),
        ({"range": "90d"}, ("90d", date(2024, 12, 20), TODAY)),
        ({"range": "7d", "to": "2025-03-10"}, ("7d", date(2025, 3, 3), date(2025, 3, 10))),
        ({"range": "7d", "to": "2031-01-01"}, ("7d", date(2025, 3, 13), TODAY)),  # never past today
        ({"range": "custom"}, ("custom", date(2025, 2, 18), TODAY)),
        ({"from": "2025-03-01"}, ("custom", date(2025, 2, 28), TODAY)),
        ({"to": "2025-02-28"}, ("custom", date(2025, 1, 29), date(2025, 2, 28))),
        (
            {"from": "2025-03-05", "to": "2025-03-01"},
            ("custom", date(2025, 2, 28), date(2025, 3, 1)),
        ),
        ({"from": "2025-03-01T00:39:59 00:00"}, ("custom", date(2025, 2, 28), TODAY)),  # '+' as ' '
        ({"from": "yesterday"}, ("30d", date(2025, 2, 18), TODAY)),
        ({"range": "12m", "from": "2025-01-01"}, ("12m", date(2024, 3, 20), TODAY)),
    ],
)
def test_the_range_the_parameters_say(
    params: dict[str, str], expected: tuple[str, date, date]
) -> None:
    assert _range_from(params, TODAY) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters("30d", date(2025, 2, 18), TODAY, None, {}), {}),
        (Filters("7d", date(2025, 3, 13), TODAY, "eur", {}), {"range": "7d", "currency": "eur"}),
        (Filters("30d", date(2025, 1, 1), date(2025, 1, 31), None, {}), {"to": "2025-01-31"}),
        (
            Filters("custom", date(2025, 2, 28), TODAY, None, {"brand": "visa"}),
            {"from": "2025-03-01", "to": "2025-03-20", "brand": "visa"},
        ),
    ],
)
def test_the_link_holds_only_what_is_not_a_default(
    filters: Filters, expected: dict[str, str]
) -> None:
    assert query(filters, TODAY) == expected


def test_the_accounts_day_is_the_last_syncs_and_the_machines_before_any() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE sync_runs (account_time TIMESTAMP)")
    assert account_day(con) == datetime.now(UTC).date()
    con.execute("INSERT INTO sync_runs VALUES ('2025-03-20 23:59:59'), ('2025-03-19 10:00:00')")
    assert account_day(con) == date(2025, 3, 20)

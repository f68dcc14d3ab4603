from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from metrics.fx import FxRatesError, MissingRateError, convert_total, load_rates_csv

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "fx_rates.csv"  # against USD: "2020-01-01,usd,1.0"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rates.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def rates(tmp_path: Path) -> pd.DataFrame:
    return load_rates_csv(
        write(
            tmp_path,
            "date,currency,rate_in_usd\n"
            "2026-10-01,eur,1.25\n"
            "2026-10-15,EUR,1.5\n"
            "2026-10-01,jpy,0.0075\n"
            "\n",
        ),
        "usd",
    )


def test_load_rates_csv_returns_typed_rows_sorted_by_date_and_currency(rates: pd.DataFrame) -> None:
    assert rates.to_dict("records") == [
        {"date": date(2026, 10, 1), "currency": "eur", "rate": 1.25},
        {"date": date(2026, 10, 1), "currency": "jpy", "rate": 0.0075},
        {"date": date(2026, 10, 15), "currency": "eur", "rate": 1.5},
    ]


def test_convert_total_uses_the_latest_rate_on_or_before_the_day(rates: pd.DataFrame) -> None:
    amounts = {"usd": 12_500.0, "eur": 100.0, "jpy": 20_000.0}

    # EUR at 1.25 (the Oct 15 rate is not known yet on Oct 14); JPY at 0.0075.
    assert convert_total(amounts, "usd", rates, date(2026, 10, 14)) == 12_500 + 125 + 150
    # EUR at 1.5 from Oct 15 on.
    assert convert_total(amounts, "usd", rates, date(2026, 10, 31)) == 12_500 + 150 + 150


def test_the_reporting_currency_converts_at_one_without_any_rates_table() -> None:
    assert convert_total({"USD": 12_500.0}, "usd", None, date(2026, 10, 31)) == 12_500.0


def test_a_zero_amount_needs_no_rate() -> None:
    assert convert_total({"usd": 10.0, "chf": 0.0}, "usd", None, date(2026, 10, 31)) == 10.0


def test_a_missing_rate_names_the_currency_and_day_and_says_what_to_add(
    rates: pd.DataFrame,
) -> None:
    with pytest.raises(MissingRateError) as error:
        convert_total({"usd": 1.0, "gbp": 10.0}, "usd", rates, date(2026, 10, 31))

    assert str(error.value) == (
        "no exchange rate for GBP on or before 2026-10-31: add a row '2026-10-31,gbp,<rate>' to "
        "the rates file, where <rate> is the value of 1 GBP in USD"
    )


def test_a_rate_dated_after_the_day_does_not_count(rates: pd.DataFrame) -> None:
    with pytest.raises(MissingRateError, match="EUR on or before 2026-09-30"):
        convert_total({"eur": 1.0}, "usd", rates, date(2026, 9, 30))


def test_a_rates_table_that_prices_the_reporting_currency_is_refused(rates: pd.DataFrame) -> None:
    with pytest.raises(FxRatesError) as error:
        convert_total({"usd": 1.0}, "eur", rates, date(2026, 10, 31))

    assert str(error.value) == (
        "the rates table gives EUR, the reporting currency, a rate of 1.25 on 2026-10-01: "
        "rates must be in units of EUR"
    )


def test_a_hand_built_rates_table_with_timestamps_works_too() -> None:
    table = pd.DataFrame(
        {"date": pd.to_datetime(["2026-10-01"]), "currency": ["EUR"], "rate": [2.0]}
    )

    assert convert_total({"eur": 3.0}, "usd", table, date(2026, 10, 2)) == 6.0


HEADER_WANTED = (
    "1: the header must be 'date,currency,rate_in_usd' (or 'date,currency,rate' with a row rating "
    "USD 1), found "
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", HEADER_WANTED + "''"),
        ("day,currency,rate\n", HEADER_WANTED + "'day,currency,rate'"),
        ("date,currency,rate_in_dollars\n", HEADER_WANTED + "'date,currency,rate_in_dollars'"),
        (
            "date,currency,rate_in_usd\n2026-10-01,eur\n",
            "2: expected 3 fields (date,currency,rate), found 2",
        ),
        (
            "date,currency,rate_in_usd\n2026-10-01,eur,1.1\n01/10/2026,eur,1.1\n",
            "3: date '01/10/2026' is not YYYY-MM-DD",
        ),
        (
            "date,currency,rate_in_usd\n2026-10-01,euro,1.1\n",
            "2: currency 'euro' is not a 3-letter ISO code",
        ),
        (
            "date,currency,rate_in_usd\n2026-10-01,eur,1,1\n",
            "2: expected 3 fields (date,currency,rate), found 4",
        ),
        ("date,currency,rate_in_usd\n2026-10-01,eur,abc\n", "2: rate 'abc' is not a number"),
        ("date,currency,rate_in_usd\n2026-10-01,eur,0\n", "2: rate '0' must be a positive number"),
        (
            "date,currency,rate_in_usd\n2026-10-01,eur,-1.1\n",
            "2: rate '-1.1' must be a positive number",
        ),
        (
            "date,currency,rate_in_usd\n2026-10-01,eur,nan\n",
            "2: rate 'nan' must be a positive number",
        ),
        (
            "date,currency,rate_in_usd\n2026-10-01,eur,1.1\n\n2026-10-01,EUR,1.2\n",
            "4: a second rate for EUR on 2026-10-01",
        ),
        (
            "date,currency,rate\n2026-10-01,eur,1.1\n",
            "1: the rates file does not say which currency its rates are in: name it in the "
            "header ('date,currency,rate_in_usd') or add a row rating it 1 ('YYYY-MM-DD,usd,1')",
        ),
        (
            "date,currency,rate_in_usd\n2026-10-01,eur,1.1\n2026-10-01,usd,1.02\n",
            "3: USD is the currency the rates are in, so its rate on 2026-10-01 must be 1, "
            "not 1.02",
        ),
    ],
)
def test_a_malformed_rates_file_names_the_file_line_and_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(FxRatesError) as error:
        load_rates_csv(path, "usd")

    assert str(error.value) == f"{path}:{message}"


def test_a_missing_rates_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FxRatesError) as error:
        load_rates_csv(tmp_path / "nope.csv", "usd")

    assert str(error.value) == f"{tmp_path / 'nope.csv'}: the rates file does not exist"


def test_usd_rates_are_refused_for_a_chf_report_instead_of_relabelling_the_total() -> None:
    with pytest.raises(FxRatesError) as error:
        load_rates_csv(EXAMPLE, "chf")

    assert str(error.value) == f"{EXAMPLE}:2: rates are against USD, the reporting currency is CHF"


def test_a_header_naming_another_currency_is_refused_on_line_one(tmp_path: Path) -> None:
    path = write(tmp_path, "date,currency,rate_in_usd\n2026-10-01,eur,1.08\n")

    with pytest.raises(FxRatesError) as error:
        load_rates_csv(path, "chf")

    assert str(error.value) == f"{path}:1: rates are against USD, the reporting currency is CHF"


def test_the_example_rates_file_loads_for_a_usd_report() -> None:
    assert load_rates_csv(EXAMPLE, "usd").to_dict("records") == [
        {"date": date(2020, 1, 1), "currency": "eur", "rate": 1.08},
        {"date": date(2020, 1, 1), "currency": "gbp", "rate": 1.27},
        {"date": date(2020, 1, 1), "currency": "jpy", "rate": 0.0067},
        {"date": date(2020, 1, 1), "currency": "usd", "rate": 1.0},
    ]


def test_a_header_in_the_reporting_currency_loads_in_any_case(tmp_path: Path) -> None:
    path = write(tmp_path, "Date,Currency,Rate_In_CHF\n2026-10-01,eur,0.94\n")

    assert load_rates_csv(path, "CHF").to_dict("records") == [
        {"date": date(2026, 10, 1), "currency": "eur", "rate": 0.94}
    ]


def test_a_currency_pegged_at_one_does_not_hide_the_reporting_currency(tmp_path: Path) -> None:
    # PAB is pegged 1:1 to USD: both read as rated 1, and USD is the reporting currency
    text = "date,currency,rate\n2026-10-01,pab,1\n2026-10-01,usd,1\n2026-10-01,eur,1.08\n"

    assert len(load_rates_csv(write(tmp_path, text), "usd")) == 3
    with pytest.raises(FxRatesError) as error:
        load_rates_csv(write(tmp_path, text), "chf")
    assert str(error.value).endswith(
        ":2: rates are against PAB or USD, the reporting currency is CHF"
    )

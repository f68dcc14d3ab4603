from __future__ import annotations

import pytest

from metrics.iso4217 import ISO_EXPONENTS, is_iso_currency
from metrics.money import exponent, format_money, minor_to_major
from sync.currencies import KNOWN_CURRENCIES


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("usd", 2),
        ("EUR", 2),
        ("jpy", 0),
        ("KRW", 0),
        ("xpf", 0),
        ("kwd", 3),
        ("tnd", 3),
        ("zzz", 2),
        ("mga", 0),  # Stripe: zero-decimal; ISO: 2
        ("isk", 2),  # Stripe: two decimals kept for compatibility; ISO: 0
        ("iqd", 3),  # not a Stripe rule: ISO's three decimals
        ("LYD", 3),
        ("clf", 4),
        ("uyi", 0),
        ("std", 2),  # Stripe's legacy code, withdrawn by ISO
    ],
)
def test_exponent_follows_stripes_currency_decimals(currency: str, expected: int) -> None:
    assert exponent(currency) == expected


@pytest.mark.parametrize(
    ("amount_minor", "currency", "expected"),
    [
        (1_250_000, "usd", 12_500.0),
        (12_000, "jpy", 12_000.0),
        (1_500, "bhd", 1.5),
        (1_234, "kwd", 1.234),
        (1_234, "iqd", 1.234),
        (-250, "eur", -2.5),
    ],
)
def test_minor_to_major_divides_by_the_currency_exponent(
    amount_minor: float, currency: str, expected: float
) -> None:
    assert minor_to_major(amount_minor, currency) == expected


@pytest.mark.parametrize(
    ("amount_major", "currency", "expected"),
    [
        (12_500, "usd", "$12,500.00"),
        (1_234.5, "eur", "€1,234.50"),
        (12_000, "jpy", "¥12,000"),
        (1_234.5, "chf", "1,234.50 CHF"),
        (1_234.5678, "kwd", "1,234.568 KWD"),
        (1.234, "kwd", "1.234 KWD"),
        (1.234, "iqd", "1.234 IQD"),
        (0.5, "omr", "0.500 OMR"),
        (1_234.5678, "clf", "1,234.5678 CLF"),
        (-12.5, "usd", "-$12.50"),
        (-0.001, "usd", "$0.00"),
        (4_333.333, "gbp", "£4,333.33"),
    ],
)
def test_format_money_uses_the_symbol_or_the_code_and_the_currency_decimals(
    amount_major: float, currency: str, expected: str
) -> None:
    assert format_money(amount_major, currency) == expected


def test_format_money_refuses_a_nan_instead_of_printing_it() -> None:
    with pytest.raises(ValueError, match="non-finite amount of USD"):
        format_money(float("nan"), "usd")


def test_iso_4217_lists_the_three_decimal_currencies_and_refuses_made_up_codes() -> None:
    three = sorted(code for code, places in ISO_EXPONENTS.items() if places == 3)
    assert three == ["bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd"]
    assert (is_iso_currency("CHF"), is_iso_currency("xyz"), is_iso_currency("xau")) == (
        True,
        False,
        False,
    )


def test_every_currency_stripe_bills_in_is_an_iso_code_but_its_legacy_and_stablecoin_ones() -> None:
    assert sorted(code for code in KNOWN_CURRENCIES if not is_iso_currency(code)) == ["std", "usdc"]

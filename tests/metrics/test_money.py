from __future__ import annotations

import pytest

from metrics.money import exponent, format_money, minor_to_major


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

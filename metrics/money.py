"""Currency exponents and display formatting.

Money stays in integer minor units plus a lower-case ISO currency code everywhere in paylens; these
helpers turn it into major units and text only at the edge, for display and for FX conversion.
"""

from __future__ import annotations

import math

from metrics.iso4217 import ISO_EXPONENTS

# Stripe's zero-decimal currencies: the amount is already in major units (¥1 is `1`).
STRIPE_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# Stripe's three-decimal currencies: 1 major unit is 1,000 minor units.
STRIPE_THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
# Stripe's "special cases" that ISO writes with no decimals but Stripe's amounts keep two for
# backwards compatibility (ISK: `100` is 1 króna, whole krónur only since 2023).
STRIPE_TWO_DECIMAL = frozenset({"isk"})

# Decimal places per code. Stripe's where Stripe publishes them, because every amount in the
# warehouse is in Stripe's minor units (so MGA is 0, not ISO's 2, and ISK 2, not ISO's 0); ISO
# 4217's for every other code (IQD and LYD 3, CLF and UYW 4), which matters for a reporting
# currency Stripe does not bill in; 2 for a code in neither (see `exponent`).
EXPONENTS: dict[str, int] = {
    **ISO_EXPONENTS,
    **dict.fromkeys(STRIPE_ZERO_DECIMAL, 0),
    **dict.fromkeys(STRIPE_THREE_DECIMAL, 3),
    **dict.fromkeys(STRIPE_TWO_DECIMAL, 2),
}
# The codes with 0 and 3 decimals, for SQL that turns minor units into major ones
# (metrics/sql/payment_attempts.sql); every other code Stripe bills in has 2.
ZERO_DECIMAL = frozenset(code for code, places in EXPONENTS.items() if places == 0)
THREE_DECIMAL = frozenset(code for code, places in EXPONENTS.items() if places == 3)

# Symbols shown before the amount. Only unambiguous ones: "$" alone would be misread for CAD, AUD
# or MXN, and "¥" for CNY, so those fall back to the ISO code after the number.
SYMBOLS: dict[str, str] = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "inr": "₹",
    "krw": "₩",
}


def exponent(currency: str) -> int:
    """Decimal places of `currency`: Stripe's where it has a rule, else ISO 4217's, else 2.

    A code in neither list (Stripe's legacy `std`, its `usdc`) has 2, as Stripe gives it.
    """
    return EXPONENTS.get(currency.lower(), 2)


def minor_to_major(amount_minor: float, currency: str) -> float:
    """Convert an amount in minor units (cents, yen, fils) to major units (dollars, yen, dinars)."""
    return amount_minor / 10 ** exponent(currency)


def format_money(amount_major: float, currency: str) -> str:
    """Text for an amount in major units: "$12,500.00", "€1,234.50", "¥12,000", "1,234.50 CHF".

    Rounds to the currency's own number of decimals. A non-finite amount is a bug upstream, so it
    raises instead of printing "$nan".
    """
    if not math.isfinite(amount_major):
        raise ValueError(f"cannot format a non-finite amount of {currency.upper()}: {amount_major}")
    places = exponent(currency)
    digits = f"{abs(amount_major):,.{places}f}"
    # No minus sign on an amount that rounds to zero ("-$0.00").
    sign = "-" if amount_major < 0 and digits.strip("0.,") else ""
    symbol = SYMBOLS.get(currency.lower())
    if symbol is None:
        return f"{sign}{digits} {currency.upper()}"
    return f"{sign}{symbol}{digits}"

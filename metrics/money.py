"""Currency exponents and display formatting.

Money stays in integer minor units plus a lower-case ISO currency code everywhere in paylens; these
helpers turn it into major units and text only at the edge, for display and for FX conversion.
"""

from __future__ import annotations

import math

# Stripe's zero-decimal currencies: the amount is already in major units (¥1 is `1`).
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# Stripe's three-decimal currencies: 1 major unit is 1,000 minor units.
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

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
    """Decimal places of `currency` in Stripe's amounts: 2 unless Stripe lists it otherwise."""
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


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

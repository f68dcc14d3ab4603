"""ISO 4217: the active currency codes and the minor-unit exponent of each, as data, in one place.

The list is ISO 4217's List One (current currencies and funds) as of its 2025 amendments, without
the codes that have no minor unit (precious metals XAU XAG XPT XPD, the bond-market units XBA-XBD,
XDR, XSU, XUA, and the testing and "no currency" codes XTS and XXX): none of them can be a
reporting currency. A code withdrawn by ISO (Stripe's legacy `std`, say) is not in it.

`exponent` here is ISO's; amounts in the warehouse follow Stripe's exponents, which differ for a
few codes: `metrics.money.exponent` says which it uses where.
"""

from __future__ import annotations

# Codes by their ISO minor-unit exponent (decimal places); upper case as ISO writes them.
_BY_EXPONENT: dict[int, str] = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
        BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
        FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
        KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
        NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
        SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
        VES WST XCD XCG YER ZAR ZMW ZWG
    """,
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}

# Lower-case code -> ISO exponent, the way paylens writes codes (and Stripe sends them).
ISO_EXPONENTS: dict[str, int] = {
    code.lower(): places for places, codes in _BY_EXPONENT.items() for code in codes.split()
}


def is_iso_currency(code: str) -> bool:
    """True for an active ISO 4217 code with a minor unit, in any case ("CHF", "chf")."""
    return code.lower() in ISO_EXPONENTS

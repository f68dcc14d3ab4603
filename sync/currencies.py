"""The currencies Stripe settles or presents in (ISO 4217, lower case).

An object in any other currency is quarantined rather than stored: the metrics would have no
minor-unit rule and no exchange rate for it, and a silently wrong total is worse than a visible
quarantine entry.
"""

from __future__ import annotations

KNOWN_CURRENCIES = frozenset(
    """
    aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd btn
    bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp
    gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr iqd isk jmd jod jpy kes kgs khr kmf
    krw kwd kyd kzt lak lbp lkr lrd lsl lyd mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr
    mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd
    scr sek sgd shp sle sos srd std stn szl thb tjs tnd top try ttd twd tzs uah ugx usd usdc
    uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
    """.split()  # noqa: SIM905 (a table is easier to read than 135 quoted strings)
)

"""A tiny page for tests/app/test_filters.py: the shared sidebar on an in-memory warehouse whose
last sync heard Stripe at PAYLENS_TEST_HEARD (ISO time), with what it chose printed as JSON."""

from __future__ import annotations

import json
import os

import duckdb
import streamlit as st

from app import filters

con = duckdb.connect()
con.execute("CREATE TABLE sync_runs (account_time TIMESTAMP)")
heard = os.environ.get("PAYLENS_TEST_HEARD")
if heard:
    con.execute("INSERT INTO sync_runs VALUES (CAST(? AS TIMESTAMP))", [heard])
card = (
    {"brand": ["mastercard", "visa"], "country": ["BR", "US"]}
    if os.environ.get("PAYLENS_TEST_CARD")
    else None
)
chosen = filters.sidebar(
    con, reporting_currency="usd", currencies=["eur", "usd"], card_options=card
)
st.text(
    json.dumps(
        {
            "range": chosen.range,
            "since": chosen.since.isoformat(),
            "as_of": chosen.as_of.isoformat(),
            "currency": chosen.currency,
            "card": dict(chosen.card),
            "days": chosen.days,
        }
    )
)

"""Cohort retention per segment against the per-month-end reading it replaced, on `demo`.

`cohort_reference.sql` reads every customer's MRR at every month end (one row per customer and
month); `sql/cohort_retention.sql` adds up MRR segments over the month ends they cover instead.
Both must give the same cohorts, the same counts, and the same MRR up to the order
floating-point sums run in.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from pathlib import Path

import duckdb
import pytest

from metrics._sql import compose
from metrics.movements import history_start
from metrics.mrr import SEGMENTS, MrrSettings
from metrics.retention import cohort_retention

REFERENCE = (Path(__file__).parent / "cohort_reference.sql").read_text(encoding="utf-8")
SETTINGS = [MrrSettings(), MrrSettings(False, True, True)]
AS_OF = [date(2026, 11, 20), date(2026, 6, 30), date(2026, 2, 14)]


@pytest.mark.parametrize("settings", SETTINGS, ids=["stripe", "period_end_once"])
@pytest.mark.parametrize("as_of", AS_OF, ids=str)
def test_spans_give_the_cohorts_of_reading_every_month_end(
    demo: duckdb.DuckDBPyConnection, settings: MrrSettings, as_of: date
) -> None:
    start = history_start(demo)
    assert start is not None
    found = cohort_retention(demo, as_of, settings)
    layers = compose([*SEGMENTS], None).removesuffix("SELECT * FROM mrr_subscription_segments")
    body = layers.rstrip() + ",\nreference AS (\n" + re.sub(r"--[^\n]*", "", REFERENCE)
    body += "\n)\nSELECT * FROM reference"
    params = {"start": min(start, as_of), "as_of": as_of, **asdict(settings)}
    used = {k: v for k, v in params.items() if f"${k}" in body}
    expected = demo.execute(body, used).df()
    assert len(found) == len(expected) > 20
    for column in ("customers", "retained_customers"):
        assert found[column].tolist() == expected[column].astype("int64").tolist(), column
    assert [str(c) for c in found["cohort"]] == [str(c.date()) for c in expected["cohort"]]
    assert found["currency"].tolist() == expected["currency"].tolist()
    assert found["months_since"].tolist() == expected["months_since"].tolist()
    for column in ("base_mrr_minor", "mrr_minor"):
        assert found[column].tolist() == pytest.approx(expected[column].tolist(), rel=1e-9), column

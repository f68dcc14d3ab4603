"""What the page tests share: a page run headless (AppTest) on a data directory with query
parameters, and reading its metrics and tables back."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest


def run_page(
    page: str,
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    params: Mapping[str, str],
    rates: Path | None,
) -> AppTest:
    """`page` run once on `data_dir` with `params` as its query parameters and `rates` as the FX
    rates file (None: no rates configured); it must not raise."""
    monkeypatch.setenv("PAYLENS_DATA_DIR", str(data_dir))
    if rates is not None:
        monkeypatch.setenv("PAYLENS_FX_RATES_FILE", str(rates))
    else:
        monkeypatch.delenv("PAYLENS_FX_RATES_FILE", raising=False)
    at = AppTest.from_file(page, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """Every st.metric shown: label → value as rendered."""
    return {metric.label: metric.value for metric in at.metric}


def table(at: AppTest, first_column: str, *also: str) -> pd.DataFrame:
    """The one table whose columns start with `first_column` and include `also`."""
    found = [
        frame.value
        for frame in at.dataframe
        if list(frame.value.columns[:1]) == [first_column] and set(also) <= set(frame.value.columns)
    ]
    assert len(found) == 1, [list(frame.value.columns) for frame in at.dataframe]
    return found[0]


def rows(frame: pd.DataFrame, *columns: str) -> list[list[object]]:
    return frame[list(columns)].values.tolist()

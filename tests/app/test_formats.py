"""The shared table helpers as a page runs them (AppTest): a long table is cut for the screen,
never for its CSV."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _long_table(rows: int) -> None:
    import pandas as pd

    from app import formats as fmt

    frame = pd.DataFrame({"Invoice": [f"in_{n:05d}" for n in range(rows)], "Amount": range(rows)})
    fmt.show(frame)
    fmt.download(frame, "invoices")


def test_a_table_longer_than_the_limit_shows_its_first_rows_and_says_how_many_there_are() -> None:
    at = AppTest.from_function(_long_table, args=(2_500,))
    at.run()

    shown = at.dataframe[0].value
    assert len(shown) == 1_000
    assert shown["Invoice"].tolist()[:2] == ["in_00000", "in_00001"]
    assert shown["Invoice"].tolist()[-1] == "in_00999"
    assert [caption.value for caption in at.caption] == [
        "The first 1,000 of 2,500 rows; the CSV has them all."
    ]


def test_a_table_within_the_limit_is_shown_whole_without_a_note() -> None:
    at = AppTest.from_function(_long_table, args=(1_000,))
    at.run()

    assert len(at.dataframe[0].value) == 1_000
    assert len(at.caption) == 0

"""Backfill progress: bars per resource on a terminal, one log line per resource otherwise."""

from __future__ import annotations

import io
import logging

import pytest

from app.progress import backfill_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_per_resource_with_its_object_count() -> None:
    stream = Terminal()
    with backfill_progress(stream) as update:
        update("charges", 100, False)
        update("charges", 2500, True)
        update("customers", 3, True)
    out = stream.getvalue()
    assert "charges" in out and "2,500 objects" in out
    assert "customers" in out and "3 objects" in out


def test_a_pipe_gets_one_plain_log_line_per_finished_resource(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="paylens.sync"), backfill_progress(stream) as update:
        update("charges", 100, False)
        update("charges", 2500, True)
    assert stream.getvalue() == ""
    assert caplog.messages == ["backfill charges: 2500 objects"]

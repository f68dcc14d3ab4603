"""Backfill progress: rich bars per resource on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from sync import Progress as ProgressCallback

log = logging.getLogger("paylens.sync")


@contextmanager
def backfill_progress(stream: TextIO | None = None) -> Iterator[ProgressCallback]:
    """A progress callback for `sync`; bars only when `stream` (stderr) is a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield _log_line
        return
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<18}"),
        TextColumn("{task.fields[objects]:>10,} objects"),
        TimeElapsedColumn(),
        console=Console(file=stream),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(resource: str, objects: int, finished: bool) -> None:
        if resource not in tasks:
            tasks[resource] = bars.add_task(resource, total=None, objects=0)
        bars.update(tasks[resource], objects=objects)
        if finished:
            bars.update(tasks[resource], total=1, completed=1)

    with bars:
        yield update


def _log_line(resource: str, objects: int, finished: bool) -> None:
    if finished:
        log.info("backfill %s: %d objects", resource, objects)

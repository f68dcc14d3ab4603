"""The backfill's writer: page bodies buffered in memory, written in bulk by one thread.

The coordinator (`sync.backfill`) buffers each complete page here. A flush hands the buffer,
and a copy of the windows it completes, to a single writer thread — the only user of the DuckDB
connection while a backfill runs — which stages the bodies and writes objects and window progress
in one transaction. So a crash at any point resumes from the last flush with nothing lost and
nothing doubled (rows are keyed by Stripe id), while fetching goes on during the write. Writes
happen one at a time, in order: a flush first waits for the previous one.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

import duckdb

from sync.client import API_VERSION
from sync.fetch import FetchedPage
from sync.ingest import Staging, flush, stage_pages
from sync.store import transaction
from sync.windows import Window, save


class Writer:
    """Buffers fetched pages and writes them, with the windows they complete, on one thread."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        clock: Callable[[], datetime],
        on_flush: Callable[[], None],
    ) -> None:
        self.con, self.clock, self.on_flush = con, clock, on_flush
        self.buffered = 0  # bytes of page bodies waiting for the next flush
        self.written: dict[str, int] = {}  # objects written per table, so far
        self._bodies: dict[str, list[str]] = {}
        self._children: dict[str, list[tuple[str, str]]] = {}
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sync-writer")
        self._writing: Future[dict[str, int]] | None = None

    def buffer(self, page: FetchedPage) -> None:
        """Keep one complete page (with its nested children) for the next flush."""
        self._bodies.setdefault(page.resource, []).append(page.body)
        self.buffered += len(page.body)
        for table, bodies in page.children.items():
            self._children.setdefault(table, []).extend(bodies)
            self.buffered += sum(len(body) for _, body in bodies)

    def flush(self, windows: list[Window]) -> None:
        """Start writing the buffer, and `windows` as they are now, once the last write is in."""
        self.collect()
        snapshot = [replace(w) for w in windows]
        self._writing = self._thread.submit(self._write, self._bodies, self._children, snapshot)
        self._bodies, self._children, self.buffered = {}, {}, 0

    def collect(self) -> None:
        """Wait for the write in progress and count what it wrote (its error is raised here)."""
        writing, self._writing = self._writing, None
        if writing is None:
            return
        for table, count in writing.result().items():
            self.written[table] = self.written.get(table, 0) + count

    def close(self) -> None:
        """Wait for the write in progress (whatever its outcome) and stop the thread."""
        self._thread.shutdown(wait=True)

    def _write(
        self,
        bodies: dict[str, list[str]],
        children: dict[str, list[tuple[str, str]]],
        windows: list[Window],
    ) -> dict[str, int]:
        staging = Staging()
        for table, pages in bodies.items():
            stage_pages(self.con, staging, table, pages)
        for table, nested in children.items():
            stage_pages(self.con, staging, table, [b for _, b in nested], [p for p, _ in nested])
        with transaction(self.con):
            written = flush(self.con, staging, API_VERSION, self.clock())
            save(self.con, windows)
            self.on_flush()
        return written

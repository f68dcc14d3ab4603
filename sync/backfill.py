"""The parallel backfill: windows of every resource fetched by a pool, written by one thread.

Worker threads only do HTTP (`sync.fetch`), under the token buckets every request shares. This
thread owns the DuckDB connection and all window state: it hands the next page of a window to
the pool, splits windows as densities show, buffers page bodies, and flushes them in bulk —
objects and window progress in one transaction, so a crash at any point resumes from the last
flush with nothing lost and nothing doubled (rows are keyed by Stripe id).

Steps of `Backfill.run`:
1. queue every pending window, round-robin across resources;
2. while pages are in flight: take each finished page, buffer it, split or advance its window;
   record failures per resource (a failing resource stops for this run, the others go on);
3. flush whenever the buffer is big or old enough, and once at the end.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from sync.client import API_VERSION, AuthError, StripeReader, StripeSyncError
from sync.fetch import RESOURCES, FetchedPage, fetch_page
from sync.ingest import Staging, flush, stage_pages
from sync.store import transaction
from sync.windows import Window, save, split

Clock = Callable[[], datetime]
Progress = Callable[[str, int, bool], None]  # (resource, objects so far, resource finished)


@dataclass(frozen=True)
class Options:
    """How hard and how often: parallelism, window size, flush thresholds, incremental timing."""

    workers: int = 24
    windows_per_resource: int = 6
    window_pages: int = 20
    flush_seconds: float = 2.0
    flush_bytes: int = 32 * 1024 * 1024
    events_overlap_seconds: int = 300
    webhook_refresh_seconds: int = 3600
    cursor_max_age_seconds: int = 29 * 86_400


@dataclass
class Outcome:
    objects: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    complete: bool = False
    abandoned: bool = False


class Backfill:
    def __init__(
        self,
        reader: StripeReader,
        con: duckdb.DuckDBPyConnection,
        clock: Clock,
        options: Options,
        *,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        on_flush: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader, self.con, self.clock, self.options = reader, con, clock, options
        self.progress, self.should_stop, self.on_flush = progress, should_stop, on_flush
        self.monotonic = monotonic
        self.outcome = Outcome()
        self.windows: list[Window] = []
        self.ready: dict[str, deque[Window]] = {}
        self.inflight: dict[Future[FetchedPage], Window] = {}
        self.failed: set[str] = set()
        self.fetched: dict[str, int] = {}
        self._bodies: dict[str, list[str]] = {}
        self._children: dict[str, list[tuple[str, str]]] = {}
        self._buffered = 0
        self._flushed_at = monotonic()

    def run(self, windows: list[Window]) -> Outcome:
        """Fetch every pending window; returns what was written and what failed."""
        self.windows = windows
        for window in windows:
            if window.state == "pending":
                self.ready.setdefault(window.resource, deque()).append(window)
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="sync") as pool:
            try:
                self._loop(pool)
            except BaseException:
                for future in self.inflight:
                    future.cancel()
                raise
        self._flush()
        self.outcome.complete = all(w.state != "pending" for w in self.windows)
        return self.outcome

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while True:
            if self.should_stop():
                self.outcome.abandoned = True
            elif not self.outcome.abandoned:
                self._submit(pool)
            if not self.inflight:
                return
            done, _ = wait(list(self.inflight), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                self._take(future, self.inflight.pop(future))
            if (
                self._buffered >= self.options.flush_bytes
                or self.monotonic() - self._flushed_at >= self.options.flush_seconds
            ):
                self._flush()

    def _submit(self, pool: ThreadPoolExecutor) -> None:
        """Fill the pool, one resource at a time in turn, at most N windows of one at once."""
        busy: dict[str, int] = {}
        for window in self.inflight.values():
            busy[window.resource] = busy.get(window.resource, 0) + 1
        progressed = True
        while progressed and len(self.inflight) < self.options.workers:
            progressed = False
            for resource, queue in self.ready.items():
                if not queue or resource in self.failed:
                    continue
                if busy.get(resource, 0) >= self.options.windows_per_resource:
                    continue
                window = queue.popleft()
                spec = RESOURCES[resource]
                future = pool.submit(fetch_page, self.reader, spec, **window.params())  # type: ignore[arg-type]
                self.inflight[future] = window
                busy[resource] = busy.get(resource, 0) + 1
                progressed = True
                if len(self.inflight) >= self.options.workers:
                    return

    def _take(self, future: Future[FetchedPage], window: Window) -> None:
        try:
            page = future.result()
        except AuthError:
            raise
        except StripeSyncError as exc:
            self._fail(window.resource, exc)
            return
        self._buffer(page)
        window.fetched += page.count
        if window.top is None:
            window.top = page.first_created
        if page.has_more and page.last_id is not None:
            window.cursor = page.last_id
            self._maybe_split(window, page)
            self.ready.setdefault(window.resource, deque()).appendleft(window)
        else:
            window.finished = True
        self._report(window.resource)

    def _maybe_split(self, window: Window, page: FetchedPage) -> None:
        if not RESOURCES[window.resource].windowed or page.last_created is None:
            return
        open_windows = sum(
            1
            for w in self.windows
            if w.resource == window.resource and w.state == "pending" and not w.finished
        )
        if open_windows >= self.options.windows_per_resource:
            return
        older = split(window, page.last_created, self.options.window_pages)
        if older is not None:
            self.windows.append(older)
            self.ready.setdefault(older.resource, deque()).append(older)

    def _fail(self, resource: str, exc: StripeSyncError) -> None:
        """A resource that fails is recorded and left for the next run; 403 marks it forbidden."""
        self.outcome.errors[resource] = str(exc)
        self.failed.add(resource)
        if exc.permanent and exc.resource is not None:
            for window in self.windows:
                if window.resource == resource and window.state == "pending":
                    window.state = "forbidden"
        self._report(resource)

    def _buffer(self, page: FetchedPage) -> None:
        self._bodies.setdefault(page.resource, []).append(page.body)
        self._buffered += len(page.body)
        for table, bodies in page.children.items():
            self._children.setdefault(table, []).extend(bodies)
            self._buffered += sum(len(body) for _, body in bodies)
        self.fetched[page.resource] = self.fetched.get(page.resource, 0) + page.count

    def _flush(self) -> None:
        """Write the buffered pages and the windows they complete, in one transaction."""
        staging = Staging()
        for table, bodies in self._bodies.items():
            stage_pages(self.con, staging, table, bodies)
        for table, children in self._children.items():
            stage_pages(
                self.con, staging, table, [b for _, b in children], [p for p, _ in children]
            )
        with transaction(self.con):
            written = flush(self.con, staging, API_VERSION, self.clock())
            for window in self.windows:
                if window.finished and window.state == "pending":
                    window.state = "done"
            save(self.con, self.windows)
            self.on_flush()
        for table, count in written.items():
            self.outcome.objects[table] = self.outcome.objects.get(table, 0) + count
        self._bodies, self._children, self._buffered = {}, {}, 0
        self._flushed_at = self.monotonic()

    def _report(self, resource: str) -> None:
        if self.progress is None:
            return
        finished = all(
            w.finished or w.state != "pending" for w in self.windows if w.resource == resource
        )
        self.progress(resource, self.fetched.get(resource, 0), finished)

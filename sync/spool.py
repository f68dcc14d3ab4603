"""Page bodies spooled to files for staging: the one way bodies reach DuckDB, for the backfill's
writer and for the incremental poll alike.

DuckDB reads the files with `read_text` (`sync.ingest.stage_files`): cheaper than binding the
bodies as one list parameter (each body a Python-to-DuckDB value: twice the page faults), and no
Arrow (pyarrow's first string array imports pandas). A spool is a directory whose files are
numbered as written, so two bodies never share a name; the files of a batch are discarded once
it is staged, and the directory goes with the spool.

Two places hold one: the backfill's writer spools beside the warehouse (`sync.writer`: a body
need not wait in memory for its flush), `sync.ingest.stage_pages` in a temporary directory for
the few pages of a poll or a reconciliation.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from types import TracebackType

PREFIX = "paylens-pages-"  # of a temporary spool's directory


class Spool:
    """A directory of spooled page bodies, `1.json`, `2.json`, … in the order written."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.written = 0  # files written so far: the next is named after it

    @classmethod
    def temporary(cls) -> Spool:
        """A spool in a new temporary directory (removed by `close`)."""
        return cls(tempfile.mkdtemp(prefix=PREFIX))

    def write(self, body: str) -> str:
        """Spool one body; returns the file's path, for `stage_files`."""
        self.written += 1
        path = os.path.join(self.directory, f"{self.written}.json")
        with open(path, "w", encoding="utf-8") as file:
            file.write(body)
        return path

    def discard(self, files: Iterable[str]) -> None:
        """Remove spooled files that are done with (staged or not)."""
        for path in files:
            with suppress(FileNotFoundError):
                os.remove(path)

    def close(self) -> None:
        """Remove the directory and whatever it still holds."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

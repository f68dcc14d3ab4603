"""The one exception the command line turns into a single line on stderr."""

from __future__ import annotations


class CommandError(Exception):
    """A command cannot go on; the message says why and what to do. Exit code 2 unless set."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code

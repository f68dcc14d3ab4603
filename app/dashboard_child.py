"""The dashboard's own process: Streamlit's server, which ends when the paylens that started it
ends.

`paylens serve` and `paylens demo` stop Streamlit's process group when they stop; a paylens
killed outright (SIGKILL, a crash) cannot. So this process watches its parent and, once it is
gone, stops itself the way a service manager would (SIGTERM, Streamlit's clean stop): no
dashboard outlives its paylens, serving with the settings (the password) it was started with.

Run as `python -m app.dashboard_child <parent pid> <streamlit run arguments...>`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

WATCH_SECONDS = 0.5


def watch_parent(parent: int) -> None:
    """Return once this process's parent is no longer `parent` (it ended: we were re-parented)."""
    stop = threading.Event()
    while os.getppid() == parent:
        stop.wait(WATCH_SECONDS)


def _stop_when_orphaned(parent: int) -> None:
    watch_parent(parent)
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str]) -> None:
    parent, streamlit_args = int(argv[0]), argv[1:]
    threading.Thread(
        target=_stop_when_orphaned, args=(parent,), daemon=True, name="parent-watch"
    ).start()
    from streamlit.web import cli  # after the watch: importing Streamlit takes a second

    sys.argv = ["streamlit", *streamlit_args]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])

"""`paylens demo`: the local sandbox, one sync, and the dashboard, stopped together on Ctrl-C.

Steps: simulate the sandbox business up to today and serve it on a free loopback port; sync it
into the data directory and publish a snapshot; start the dashboard; print its URL; on Ctrl-C or
SIGTERM stop the dashboard's process group and the sandbox, leaving no process behind.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import types
from pathlib import Path

from sandbox.server import start_server
from sandbox.sim import simulate

from app import dashboard_process
from app.service import sync_and_publish, utc_now
from app.settings import Secret, Settings

log = logging.getLogger("paylens.demo")
EXAMPLE_FX_RATES = Path(__file__).resolve().parent.parent / "docs" / "examples" / "fx_rates.csv"


def run(settings: Settings, *, seed: int, preset: str) -> int:
    dashboard_process.check_binding(settings)
    log.info("simulating the %r sandbox business (seed %d)", preset, seed)
    server = start_server(simulate(seed, utc_now().date(), preset))
    process = None
    try:
        demo_settings = dataclasses.replace(
            settings,
            stripe_api_key=Secret(server.api_key),
            stripe_api_base=server.url,
            fx_rates_file=settings.fx_rates_file or EXAMPLE_FX_RATES,
        )
        log.info("sandbox serving at %s", server.url)
        sync_and_publish(demo_settings)
        process = dashboard_process.start(
            demo_settings, {"PAYLENS_FX_RATES_FILE": str(demo_settings.fx_rates_file)}
        )
        print(
            f"\npaylens demo: open {dashboard_process.url(settings)}  (Ctrl-C stops it all)\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, _raise_interrupt)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process is not None:
            dashboard_process.stop(process)
        server.shutdown()


def _raise_interrupt(signum: int, frame: types.FrameType | None) -> None:
    raise KeyboardInterrupt

"""`paylens demo`: the local sandbox, one sync, and the dashboard, stopped together on Ctrl-C.

Steps: simulate the sandbox business up to today and serve it on a free loopback port; sync it
into the data directory and publish a snapshot; start the dashboard; print its URL; on Ctrl-C or
SIGTERM stop the dashboard's process group and the sandbox, leaving no process behind.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import signal
import types
from pathlib import Path

from app import dashboard_process
from app.service import sync_and_publish, utc_now
from app.settings import Secret, Settings
from sandbox.server import start_server
from sandbox.sim import simulate

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
        )
        _provide_example_rates(demo_settings)
        log.info("sandbox serving at %s", server.url)
        sync_and_publish(demo_settings)
        process = dashboard_process.start(demo_settings)
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


def _provide_example_rates(settings: Settings) -> None:
    """The sandbox bills in USD and EUR; without rates the dashboard could not total them."""
    if settings.fx_rates_path is None:
        target = settings.data_dir / "fx_rates.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLE_FX_RATES, target)
        log.info("no FX rates configured: using the example rates, copied to %s", target)


def _raise_interrupt(signum: int, frame: types.FrameType | None) -> None:
    raise KeyboardInterrupt

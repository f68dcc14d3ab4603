"""The functions ``paylens sandbox`` calls, run for real (SIGTERM included)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import signal
import threading
import time

import stripe

from sandbox.cli import run_sandbox


def test_run_sandbox_prints_url_and_key_serves_and_stops_on_sigterm() -> None:
    out = io.StringIO()
    seen: list[int] = []

    def use_then_terminate() -> None:
        deadline = time.monotonic() + 10
        while "Press Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        url = re.search(r"URL:\s+(\S+)", out.getvalue())
        key = re.search(r"API key:\s+(\S+)", out.getvalue())
        if url and key:
            client = stripe.StripeClient(
                key.group(1), base_addresses={"api": url.group(1)}, max_network_retries=0
            )
            seen.append(len(client.v1.customers.list(params={"limit": 5}).data))
        os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=use_then_terminate)
    helper.start()
    run_sandbox(3, dt.date(2025, 1, 31), 0, "sk_test_cli_check", "small", out)
    helper.join()
    assert seen == [5]
    assert "API key: sk_test_cli_check" in out.getvalue()
    assert out.getvalue().rstrip().endswith("sandbox stopped")

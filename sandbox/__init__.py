"""A local Stripe-compatible API serving a simulated subscription business.

Public API: ``sandbox.sim.simulate`` / ``sandbox.sim.truth``, ``sandbox.api.server.start_server``
and ``sandbox.cli`` (``run_sandbox``, ``truth_json``). ``DEFAULT_API_KEY`` is defined in
``sandbox.api.server`` and re-exported here.
"""

from __future__ import annotations

from sandbox.api.server import DEFAULT_API_KEY

__all__ = ["DEFAULT_API_KEY"]

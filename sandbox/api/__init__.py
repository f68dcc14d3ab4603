"""The HTTP side: a Stripe-compatible API serving a ``Simulation``.

``server`` (``start_server``, ``serve_forever``) answers each request through ``gate`` (numbering,
rate limits, faults, the live clock) and ``routes`` (which endpoint, listing, retrieving).
"""

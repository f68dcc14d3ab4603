"""Long lists are serialised per request rather than cached, so `large` fits in memory."""

from __future__ import annotations

import json

import pytest

from sandbox.api import listing


def test_a_list_longer_than_the_limit_serves_fresh_json_and_keeps_no_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listing, "JSON_CACHE_LIMIT", 2)
    objects = [{"id": f"cus_{n}", "object": "customer", "created": n} for n in range(3)]
    long = listing.ObjectList(objects)
    assert [json.loads(long.json(i)) for i in range(3)] == objects
    assert long._json is None
    short = listing.ObjectList(objects[:2])
    assert short.json(1) is short.json(1)  # cached: the very same bytes

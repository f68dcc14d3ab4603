"""Hostile account text, one list for every test that shows it: the markup the browser test has
always typed into tests/app/scenario_files/hostile.toml (`MARKUP`), and what else an account may
hold (`EXTRA`): an HTML event handler, Slack's own link and mention syntax, a markdown link to
elsewhere, right-to-left and zero-width characters, and a 10 kB name.

`hostile_scenario` writes hostile.toml's business again as JSON, with every one of these strings
in names, descriptions and metadata (customers, the product, the price's nickname, subscriptions,
charges), and one more customer per extra string who subscribes, fails a payment and disputes
one, so each string reaches the pages that list customers. NUL is not among them: Stripe refuses
a request holding one, and so does a scenario file (tests/sandbox/test_sandbox_scenario_text.py).
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

HOSTILE_TOML = Path(__file__).with_name("scenario_files") / "hostile.toml"
MARKUP = ("<script>alert(1)</script>", "**bold**", "[link](http://x)", "<!channel>")
LONG = "long name " + "x" * 10_230  # 10 kB
EXTRA = (
    "<img src=x onerror=alert(2)>",
    "<http://evil.example|click>",
    "[click](https://evil.example/path)",
    "\u202eevil\u202c right-to-left",
    "zero\u200bwidth\u200d joined",
    LONG,
)
HOSTILE = MARKUP + EXTRA
_METADATA = {f"k{i}": text[:500] for i, text in enumerate(HOSTILE)}  # Stripe: 500 per value


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_ready(entry) for key, entry in value.items()}
    if isinstance(value, list):
        return [_json_ready(entry) for entry in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def hostile_scenario(path: Path) -> Path:
    """Write the hostile business to `path` (a .json file) and return it."""
    doc = _json_ready(tomllib.loads(HOSTILE_TOML.read_text(encoding="utf-8")))
    doc["scenario"]["name"] = "hostile_text"
    doc["products"]["pro"].update(description=" ".join(HOSTILE), metadata=_METADATA)
    doc["prices"]["pro_usd"].update(nickname=" ".join(HOSTILE), metadata=_METADATA)
    for entry in doc["timeline"]:
        if entry["op"] in ("create_customer", "subscribe"):
            entry.update(description=" ".join(HOSTILE), metadata=_METADATA)
    extra = [(f"x{i}", text) for i, text in enumerate(EXTRA)]
    created = [
        {
            "at": "2025-01-05",
            "op": "create_customer",
            "customer": name,
            "name": text,
            "description": text,
            "metadata": _METADATA,
        }
        for name, text in extra
    ]
    subscribed = [
        {
            "at": "2025-01-05",
            "op": "subscribe",
            "subscription": f"{name}_pro",
            "customer": name,
            "items": [{"price": "pro_usd"}],
            "description": text,
            "metadata": _METADATA,
        }
        for name, text in extra
    ]
    later = [
        entry
        for name, text in extra
        for entry in (
            {"at": "2025-02-06", "op": "update_charge", "customer": name, "charge": 2,
             "description": text, "metadata": _METADATA},
            {"at": "2025-03-04", "op": "fail_payments", "customer": name,
             "until": "2025-03-31", "decline_code": "do_not_honor"},
            {"at": "2025-03-12", "op": "dispute", "customer": name, "charge": 2,
             "reason": "fraudulent", "outcome": "lost", "evidence": False,
             "closes": "2025-03-22"},
        )
    ]  # fmt: skip
    timeline = created + subscribed + doc["timeline"] + later
    doc["timeline"] = sorted(timeline, key=lambda entry: entry["at"])  # stable within a day
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path

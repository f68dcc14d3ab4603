"""The integration setup the sandbox serves (issue 20): customer portal configurations, tax
settings and registrations, automatic tax on subscriptions and invoices, webhook endpoints as a
file sets them; in Stripe's shapes, over real HTTP through the real stripe SDK, refused to a
restricted key in Stripe's words, and set by presets and scenario files (a bad value is one
error)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import stripe

from sandbox.api.server import start_server
from sandbox.scenario import ScenarioError, load_scenario, simulate_scenario
from sandbox.sim import Simulation, simulate
from tests.conftest import SEED, UNTIL

FIXTURES = Path(__file__).resolve().parents[1] / "reference" / "stripe-fixtures3.json"
API_VERSION = "2026-10-28.endive"

SCENARIO = """{setup}
[scenario]
name = "integration"
start = 2025-01-01
until = 2025-02-28

[products.pro]
name = "Pro"

[prices.pro_monthly]
product = "pro"
currency = "usd"
unit_amount = 11000
interval = "month"

[[timeline]]
at = 2025-01-05
op = "create_customer"
customer = "dave"

[[timeline]]
at = 2025-01-05
op = "subscribe"
subscription = "dave_pro"
customer = "dave"
items = [{{ price = "pro_monthly" }}]
"""

CONFIGURED = """
[[portal]]
active = true
is_default = true
features = ["payment_method_update", "invoice_history"]

[[portal]]
active = false
is_default = false

[tax]
status = "active"
tax_behavior = "inclusive"
head_office_country = "DE"
automatic_tax = true
rate_percent = 10
registrations = [
    { country = "DE", status = "active" },
    { country = "GB", status = "expired" },
    { country = "US", status = "scheduled" },
]

[[webhook_endpoints]]
name = "billing"
enabled_events = ["invoice.paid", "invoice.upcoming"]
api_version = "2026-10-28.endive"

[[webhook_endpoints]]
name = "old"
enabled_events = ["*"]
status = "disabled"
"""


def _fixture(name: str) -> dict[str, Any]:
    resources: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text())["resources"]
    return resources[name]


def _scenario(tmp_path: Path, setup: str) -> Simulation:
    path = tmp_path / "integration.toml"
    path.write_text(SCENARIO.format(setup=setup), encoding="utf-8")
    return simulate_scenario(load_scenario(path))


def _client(url: str, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        key, base_addresses={"api": url}, stripe_version=API_VERSION, max_network_retries=0
    )


@pytest.fixture(scope="module")
def demo() -> Simulation:
    return simulate(SEED, UNTIL, "demo")


def test_the_served_objects_have_the_fixtures_keys(demo: Simulation, tmp_path: Path) -> None:
    sim = _scenario(tmp_path, CONFIGURED)
    portal = next(iter(demo.billing_portal_configurations.values()))
    registration = next(iter(sim.tax_registrations.values()))
    assert demo.tax_settings is not None
    for served, name in (
        (portal, "billing_portal.configuration"),
        (demo.tax_settings, "tax.settings"),
        (registration, "tax.registration"),
    ):
        fixture = _fixture(name)
        assert served.keys() == fixture.keys(), name
        assert served["object"] == name
    features = _fixture("billing_portal.configuration")["features"]
    assert portal["features"].keys() == features.keys()
    for feature in ("payment_method_update", "subscription_cancel", "invoice_history"):
        assert portal["features"][feature].keys() == features[feature].keys()
    assert demo.tax_settings["head_office"]["address"].keys() == (
        _fixture("tax.settings")["head_office"]["address"].keys()
    )


def test_the_demo_account_has_a_full_portal_active_tax_and_unpinned_endpoints(
    demo: Simulation,
) -> None:
    """The setup `demo` is scored on (sandbox/README.md, Integration setup)."""
    [portal] = demo.billing_portal_configurations.values()
    assert (portal["active"], portal["is_default"]) == (True, True)
    features = portal["features"]
    enabled = {name for name in features if features[name]["enabled"]}
    assert {"payment_method_update", "subscription_cancel", "invoice_history"} <= enabled
    assert demo.tax_settings is not None and demo.tax_settings["status"] == "active"
    registrations = [(r["country"], r["status"]) for r in demo.tax_registrations.values()]
    assert registrations == [("US", "active")]
    endpoints = sorted(demo.webhook_endpoints.values(), key=lambda e: e["created"])
    assert [e["api_version"] for e in endpoints] == [None] * 4
    assert [e["status"] for e in endpoints] == ["enabled", "enabled", "enabled", "disabled"]
    lacking = [e["url"].rsplit("/", 1)[1] for e in endpoints if "invoice.upcoming"
               not in e["enabled_events"] and "*" not in e["enabled_events"]]  # fmt: skip
    assert lacking == ["billing", "crm", "legacy-disputes"]
    assert not any(s["automatic_tax"]["enabled"] for s in demo.subscriptions.values())
    assert all(i["total_taxes"] == [] for i in demo.invoices.values())


def test_the_sdk_reads_the_setup_over_http_and_a_restricted_key_gets_stripes_403(
    tmp_path: Path,
) -> None:
    sim = _scenario(tmp_path, CONFIGURED)
    restricted = "rk_" + "test_integration_key_0001"
    denied = ["billing_portal_configurations", "tax_settings", "tax_registrations"]
    with start_server(sim, restricted_keys={restricted: denied}) as server:
        client = _client(server.url, server.api_key)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            configurations = client.v1.billing_portal.configurations.list()
            settings = client.v1.tax.settings.retrieve()
            registrations = client.v1.tax.registrations.list()
            active = client.v1.tax.registrations.list({"status": "active"})
            defaults = client.v1.billing_portal.configurations.list({"is_default": True})
        assert [(c.active, c.is_default) for c in configurations.data] == [
            (True, True),
            (False, False),
        ] or [(c.active, c.is_default) for c in configurations.data] == [
            (False, False),
            (True, True),
        ]
        first = next(c for c in configurations.data if c.is_default)
        assert first.features.payment_method_update.enabled is True
        assert first.features.subscription_cancel.enabled is False
        assert first.features.invoice_history.enabled is True
        assert [c.id for c in defaults.data] == [first.id]
        assert (settings.status, settings.defaults.tax_behavior) == ("active", "inclusive")
        assert settings.head_office.address.country == "DE"
        assert sorted((r.country, r.status) for r in registrations.data) == [
            ("DE", "active"),
            ("GB", "expired"),
            ("US", "scheduled"),
        ]
        assert [r.country for r in active.data] == ["DE"]
        again = client.raw_request("get", f"/v1/tax/registrations/{active.data[0].id}")
        assert again.data["country"] == "DE"
        limited = _client(server.url, restricted)
        for path, permission in (
            ("/v1/billing_portal/configurations", "rak_billing_portal_configuration_read"),
            ("/v1/tax/settings", "rak_tax_settings_read"),
            ("/v1/tax/registrations", "rak_tax_registration_read"),
        ):
            with pytest.raises(stripe.PermissionError) as refused:
                limited.raw_request("get", path)
            assert refused.value.http_status == 403
            assert f"Having the '{permission}' permission" in str(refused.value.user_message)
            assert restricted not in str(refused.value.user_message)
        assert limited.raw_request("get", "/v1/customers").data["object"] == "list"


def test_a_file_sets_automatic_tax_registrations_and_endpoints(tmp_path: Path) -> None:
    sim = _scenario(tmp_path, CONFIGURED)
    [subscription] = sim.subscriptions.values()
    assert subscription["automatic_tax"]["enabled"] is True
    invoices = sorted(sim.invoices.values(), key=lambda i: i["created"])
    assert [i["billing_reason"] for i in invoices] == ["subscription_create", "subscription_cycle"]
    for invoice in invoices:
        assert invoice["automatic_tax"]["enabled"] is True
        assert invoice["total"] == invoice["amount_due"] == 11000  # tax included in the price
        assert [t["amount"] for t in invoice["total_taxes"]] == [1000]  # 10% of 110.00 is 10.00
        assert invoice["total_excluding_tax"] == 10000
    assert sorted(c["amount"] for c in sim.charges.values()) == [11000, 11000]
    endpoints = sorted(sim.webhook_endpoints.values(), key=lambda e: e["created"])
    assert [(e["url"], e["status"], e["api_version"], e["enabled_events"]) for e in endpoints] == [
        ("https://hooks.example.test/billing", "enabled", API_VERSION,
         ["invoice.paid", "invoice.upcoming"]),
        ("https://hooks.example.test/old", "disabled", None, ["*"]),
    ]  # fmt: skip


def test_a_file_without_a_setup_has_no_portal_pending_tax_and_the_default_endpoints(
    tmp_path: Path,
) -> None:
    sim = _scenario(tmp_path, "")
    assert sim.billing_portal_configurations == {} and sim.tax_registrations == {}
    assert sim.tax_settings is not None and sim.tax_settings["status"] == "pending"
    assert len(sim.webhook_endpoints) == 4
    assert all(not i["automatic_tax"]["enabled"] for i in sim.invoices.values())


def test_the_setup_draws_nothing_the_business_does(tmp_path: Path) -> None:
    """A file's portal and tax settings change no other object: they have ids of their own."""
    plain = _scenario(tmp_path, "")
    without_tax = CONFIGURED.replace("automatic_tax = true", "automatic_tax = false")
    configured = _scenario(tmp_path, without_tax.split("[[webhook_endpoints]]")[0])
    for name in ("customers", "subscriptions", "invoices", "charges", "events", "products"):
        assert json.dumps(configured.resource(name)) == json.dumps(plain.resource(name)), name
    assert len(configured.billing_portal_configurations) == 2


@pytest.mark.parametrize(
    ("setup", "where", "problem"),
    [
        ('[[portal]]\nfeatures = ["refunds"]', "portal", "features: [0]: expected one of"),
        ("[[portal]]\nactive = 1", "portal", "active: expected true or false, got 1"),
        ("portal = 3", "portal", "expected an array of tables ([[portal]]), got 3"),
        ('[tax]\nstatus = "on"', "[tax]", "status: expected one of active, pending, got 'on'"),
        ('[tax]\nregistrations = [{ country = "us" }]', "[tax]", "two-letter country code"),
        (
            '[tax]\nregistrations = [{ country = "US", status = "gone" }]',
            "[tax]",
            "status: expected one of active, expired, scheduled, got 'gone'",
        ),
        ("[tax]\nrate_percent = 0", "[tax]", "rate_percent: expected a percentage in (0, 100)"),
        ("[tax]\nvat = true", "[tax]", "unknown key 'vat'"),
        (
            '[[webhook_endpoints]]\nname = "a"\nenabled_events = []',
            "webhook_endpoints",
            "[0]: enabled_events: expected a list of at least 1",
        ),
        (
            '[[webhook_endpoints]]\nname = "a"\nenabled_events = ["*"]\nstatus = "paused"',
            "webhook_endpoints",
            "[0]: status: expected one of enabled, disabled, got 'paused'",
        ),
        (
            '[[webhook_endpoints]]\nname = "A b"\nenabled_events = ["*"]',
            "webhook_endpoints",
            "[0]: name: expected lower-case letters, digits and dashes",
        ),
        (
            '[[webhook_endpoints]]\nname = "a"\nenabled_events = ["invoice paid"]',
            "webhook_endpoints",
            "expected an event type such as 'invoice.paid'",
        ),
    ],
)
def test_a_bad_setup_value_is_one_error_naming_its_place(
    tmp_path: Path, setup: str, where: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SCENARIO.format(setup=setup), encoding="utf-8")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert error.value.where == where
    assert problem in error.value.problem

"""A sync through a proxy that serves some objects malformed keeps every good object and
quarantines every bad one with its reason, and the report and the dashboard say so (issue 17).

The same small business is synced twice from the real sandbox over real HTTP: straight, and
through `RewritingProxy`, which serves chosen objects with a numeric id, an amount as a string or
a fraction, a status outside Stripe's enum, a required field removed, the currency "xyz" or
metadata nested 50,000 deep. The second warehouse must hold every other object exactly as the
first does, and nothing of the rewritten ones but their quarantine rows.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest

from app.service import sync_and_publish
from app.settings import Settings
from app.ui import VIEWS, plain
from sandbox.api.server import SandboxServer, start_server
from sandbox.sim import Simulation, simulate
from sync.engine import RunResult
from tests.app.pages import run_page
from tests.conftest import PRESET, SEED, UNTIL, run_paylens, settings_for
from tests.sync.rewriting_proxy import Planned, RewritingProxy
from tests.sync.warehouse_checks import OBJECT_TABLES

TABLE_OF = {
    "charge": "charges",
    "customer": "customers",
    "subscription": "subscriptions",
    "subscription_item": "subscription_items",
    "invoice": "invoices",
    "refund": "refunds",
}
DEEP = "undecodable: JSON nested deeper than Python's decoder allows"


@dataclass(frozen=True)
class Case:
    """A planned rewrite and the quarantine row it must leave: key (the id, or the number a
    numeric id became) and reason."""

    planned: Planned
    key: str
    reason: str

    @property
    def table(self) -> str:
        return TABLE_OF[self.planned.object]


def _newest(objects: Mapping[str, dict[str, Any]]) -> str:
    """The id of the newest object: listed first on the first page of its window, so never the
    id a next page starts after (a numeric one there stops the resource: see the xfail below)."""
    ordered = sorted(objects.values(), key=lambda o: o["created"], reverse=True)
    assert ordered[0]["created"] > ordered[1]["created"]
    return str(ordered[0]["id"])


def _cases(sim: Simulation) -> list[Case]:
    """One rewrite per object, each kind of malformation on the tables the metrics read. A
    quarantine key is the object's id, or for a numeric id the number's text."""
    newest_charge, newest_customer = _newest(sim.charges), _newest(sim.customers)
    ch = [c for c in sorted(sim.charges) if c != newest_charge]
    cus = [c for c in sorted(sim.customers) if c != newest_customer]
    sub, inv, re = sorted(sim.subscriptions), sorted(sim.invoices), sorted(sim.refunds)
    si = sorted(i["id"] for items in sim.subscription_items.values() for i in items)[0]
    table: list[tuple[str, str, str, tuple[object, ...], str | None, str]] = [
        # object, id, rewrite, its arguments, quarantine key (None: the id), reason
        ("charge", newest_charge, "numeric_id", (12345,), "12345", "id is not a string"),
        ("charge", ch[0], "string", ("amount",), None, "amount is not an integer"),
        ("charge", ch[1], "fraction", ("amount",), None, "amount is not an integer"),
        ("charge", ch[2], "set", ("status", "bogus"), None, "unknown status bogus"),
        ("charge", ch[3], "remove", ("status",), None, "status is missing"),
        ("charge", ch[4], "set", ("currency", "xyz"), None, "unknown currency xyz"),
        ("charge", ch[5], "deep", (), None, DEEP),
        ("customer", newest_customer, "numeric_id", (67890,), "67890", "id is not a string"),
        ("customer", cus[0], "set", ("currency", "xyz"), None, "unknown currency xyz"),
        ("customer", cus[1], "deep", (), None, DEEP),
        ("subscription", sub[0], "set", ("status", "bogus"), None, "unknown status bogus"),
        ("subscription", sub[1], "remove", ("customer",), None, "customer is missing"),
        ("subscription", sub[2], "set", ("currency", "xyz"), None, "unknown currency xyz"),
        ("subscription_item", si, "string", ("quantity",), None, "quantity is not an integer"),
        ("invoice", inv[0], "fraction", ("amount_due",), None, "amount_due is not an integer"),
        ("invoice", inv[1], "remove", ("currency",), None, "currency is missing"),
        ("invoice", inv[2], "set", ("status", "bogus"), None, "unknown status bogus"),
        ("refund", re[0], "string", ("amount",), None, "amount is not an integer"),
    ]
    return [Case(Planned(o, i, how, args), key or i, why) for o, i, how, args, key, why in table]


@dataclass(frozen=True)
class Runs:
    """The fault-free sync and the one through the proxy, of the same simulation."""

    sim: Simulation
    cases: list[Case]
    clean: Settings
    proxied: Settings
    clean_result: RunResult
    result: RunResult
    served: set[tuple[str, str, str]]
    carriers: set[tuple[str, str]]
    page_ends: dict[str, list[str]]  # list path -> ids the clean run's next pages started after


def _page_ends(server: SandboxServer) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for request in server.requests:
        url = urlsplit(request.path)
        for after in parse_qs(url.query).get("starting_after", []):
            found.setdefault(url.path, []).append(after)
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    sim = simulate(SEED, UNTIL, PRESET)
    cases = _cases(sim)
    with start_server(sim) as server:
        clean = settings_for(server, tmp_path_factory.mktemp("clean"))
        clean_result = sync_and_publish(clean)
        page_ends = _page_ends(server)
        with RewritingProxy(server.url, [c.planned for c in cases]) as proxy:
            proxied = _through(proxy, server, tmp_path_factory.mktemp("proxied"))
            result = sync_and_publish(proxied)
    assert clean_result.status == "ok", clean_result.error
    return Runs(
        sim, cases, clean, proxied, clean_result, result, proxy.served, proxy.carriers, page_ends
    )


def _through(proxy: RewritingProxy, server: SandboxServer, data_dir: Path) -> Settings:
    """Settings syncing `server` through `proxy` into `data_dir`."""
    return dataclasses.replace(settings_for(server, data_dir), stripe_api_base=proxy.url)


def _read(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(settings.master_path), read_only=True)


def _rows(con: duckdb.DuckDBPyConnection, table: str, drop: set[str]) -> dict[str, tuple[Any, ...]]:
    """Every row of `table` but the ids in `drop`, by id: typed columns and raw, not synced_at."""
    found = con.execute(f"SELECT * EXCLUDE (synced_at) FROM {table} ORDER BY id").fetchall()
    return {row[0]: row for row in found if row[0] not in drop}


def test_the_proxy_served_every_planned_object_rewritten(runs: Runs) -> None:
    planned = {(c.planned.object, c.planned.id, c.planned.how) for c in runs.cases}
    assert runs.served == planned
    assert len(planned) == 18


def test_every_object_the_proxy_did_not_touch_is_stored_exactly_as_in_the_fault_free_run(
    runs: Runs,
) -> None:
    clean, proxied = _read(runs.clean), _read(runs.proxied)
    for table in OBJECT_TABLES:
        rewritten = {c.planned.id for c in runs.cases if c.table == table}
        carried = {oid for obj, oid in runs.carriers if TABLE_OF.get(obj) == table}
        expected, stored = _rows(clean, table, rewritten), _rows(proxied, table, set())
        assert set(stored) == set(expected), table  # none of the rewritten, all of the rest
        for oid, row in expected.items():
            if oid in carried:  # its raw holds the rewritten child; its typed columns do not
                assert stored[oid][:-2] == row[:-2] and stored[oid][-1] == row[-1], (table, oid)
            else:
                assert stored[oid] == row, (table, oid)
    item = next(c.planned.id for c in runs.cases if c.table == "subscription_items")
    parent = next(s for s, items in runs.sim.subscription_items.items() if item in str(items))
    refund = next(c.planned.id for c in runs.cases if c.table == "refunds")
    assert runs.carriers == {
        ("subscription", parent),
        ("charge", runs.sim.refunds[refund]["charge"]),
    }


def test_every_rewritten_object_is_quarantined_with_the_reason_of_its_rewrite(runs: Runs) -> None:
    rows = _read(runs.proxied).execute("SELECT table_name, object_key, reason FROM quarantine")
    assert sorted(rows.fetchall()) == sorted((c.table, c.key, c.reason) for c in runs.cases)


def test_the_run_is_complete_and_degraded_by_what_it_quarantined(runs: Runs) -> None:
    result = runs.result
    assert (result.kind, result.status, result.complete, result.errors) == (
        "backfill",
        "degraded",
        True,
        {},
    )
    assert result.degraded == [
        "18 objects quarantined by this run (charges 7, customers 3, invoices 3, refunds 1, "
        "subscription_items 1, subscriptions 3)"
    ]


def _gaps(runs: Runs) -> list[str]:
    """The sentence each quarantined table is warned with, in table order."""
    con = _read(runs.proxied)
    since: dict[str, datetime] = dict(
        con.execute("SELECT table_name, min(first_seen) FROM quarantine GROUP BY 1").fetchall()
    )

    def gap(table: str, count: int, affects: str) -> str:
        noun = "object" if count == 1 else "objects"
        return (
            f"{count} {noun} in {table} quarantined since {since[table]:%Y-%m-%d} (malformed, "
            f"not stored); affects {affects}"
        )

    return [
        gap("charges", 7, "payment success rate and declines"),
        gap("customers", 3, "customer counts, ARPU and LTV"),
        gap("invoices", 3, "failure and recovery rates, history before the first sync"),
        gap("refunds", 1, "refunds and refund rate"),
        gap("subscription_items", 1, "MRR") + "; MRR excludes 1 subscription",
        gap("subscriptions", 3, "MRR, churn and retention") + "; MRR excludes 3 subscriptions",
    ]


def test_the_report_states_the_quarantined_count_of_each_table_and_what_it_affects(
    runs: Runs,
) -> None:
    done = run_paylens("report", "--json", env={"PAYLENS_DATA_DIR": str(runs.proxied.data_dir)})
    assert done.returncode == 0, done.stderr
    warnings = json.loads(done.stdout)["warnings"]
    assert [w for w in warnings if "quarantined" in w] == _gaps(runs)


def test_the_dashboard_banner_states_the_quarantined_count_of_each_table_and_what_it_affects(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = run_page(str(VIEWS / "overview.py"), monkeypatch, runs.proxied.data_dir, {}, None)
    banners = [w.value for w in at.warning if w.value.startswith("Some of the account's data")]
    assert banners == [
        "Some of the account's data is not in paylens; figures that use it are short:\n"
        + "\n".join(f"- {plain(gap)}" for gap in _gaps(runs))
    ]


# Found with this proxy (issue 17): a malformed object that ends a page (the id the next page
# starts after, the `created` a window is split at) is not quarantined alone. sync/fetch.py
# `_fetched`, `follow_ups` and `fetch_rest` take the cursor (`data[-1]["id"]`) and
# `last_created` from the decoded page whatever their JSON type:
# - a numeric id is sent as `starting_after=12345`, which Stripe refuses (400 "No such charge"):
#   the resource stops (a nested list's: its parent's), the backfill stays incomplete and
#   nothing is published, run after run;
# - a string `created` reaches sync/backfill.py `_take` (`min(self.floor, page.last_created)`)
#   and the whole sync dies of a TypeError;
# - an object without an id makes `last_id` None, and `_take` ends the window as if it had no
#   more: the rest of it is silently never synced.
# Paginating after the last well-typed id fixes the resource, but then the trailing bad object
# is served again on the next page, and sync/ingest.py `_quarantine` counts copies per staged
# batch (many pages), so it is kept twice ("12345 #2"): copies should be counted per page.
# These tests say what should happen; remove the xfail marks with the fix.
BUG = "a malformed object ending a page stops its resource or the sync (sync/fetch.py)"


def _ending_pages(runs: Runs, path: str) -> list[str]:
    """The ids that ended a page of `path` (nested lines: of any invoice) in the clean run."""
    ends = [oid for at, ids in runs.page_ends.items() if at.endswith(path) for oid in ids]
    assert ends, path
    return ends


def _sync_through(runs: Runs, plan: list[Planned], data_dir: Path) -> RunResult:
    with start_server(runs.sim) as server, RewritingProxy(server.url, plan) as proxy:
        result = sync_and_publish(_through(proxy, server, data_dir))
    assert {how for *_, how in proxy.served} == {plan[0].how}
    return result


@pytest.mark.parametrize(
    ("path", "obj", "table"),
    [("/v1/charges", "charge", "charges"), ("/lines", "line_item", "invoice_lines")],
)
def test_a_numeric_id_ending_a_page_is_quarantined_and_the_rest_of_its_resource_stored(
    runs: Runs, tmp_path: Path, path: str, obj: str, table: str
) -> None:
    ends = _ending_pages(runs, path)
    plan = [Planned(obj, oid, "numeric_id", (1000 + n,)) for n, oid in enumerate(ends)]
    result = _sync_through(runs, plan, tmp_path)
    assert (result.status, result.complete, result.errors) == ("degraded", True, {})
    con, clean = _read(dataclasses.replace(runs.proxied, data_dir=tmp_path)), _read(runs.clean)
    assert _rows(con, table, set()) == _rows(clean, table, set(ends))
    rows = con.execute("SELECT table_name, object_key, reason FROM quarantine").fetchall()
    assert sorted(rows) == [(table, str(1000 + n), "id is not a string") for n in range(len(ends))]


def test_a_created_as_a_string_ending_a_page_is_quarantined_and_the_rest_of_its_resource_stored(
    runs: Runs, tmp_path: Path
) -> None:
    ends = _ending_pages(runs, "/v1/charges")
    plan = [Planned("charge", oid, "set", ("created", "soon")) for oid in ends]
    result = _sync_through(runs, plan, tmp_path)
    assert (result.status, result.complete, result.errors) == ("degraded", True, {})
    con, clean = _read(dataclasses.replace(runs.proxied, data_dir=tmp_path)), _read(runs.clean)
    assert _rows(con, "charges", set()) == _rows(clean, "charges", set(ends))
    rows = con.execute("SELECT table_name, object_key, reason FROM quarantine").fetchall()
    assert sorted(rows) == sorted(("charges", oid, "created is not an integer") for oid in ends)


def test_an_object_without_an_id_ending_a_page_leaves_no_rest_of_its_window_unsynced(
    runs: Runs, tmp_path: Path
) -> None:
    # today the window ends there as if it had no more: 265 charges are silently not synced,
    # and the run, the report and the banner speak only of "1 object" quarantined
    ends = _ending_pages(runs, "/v1/charges")
    result = _sync_through(
        runs, [Planned("charge", oid, "remove", ("id",)) for oid in ends], tmp_path
    )
    assert (result.status, result.complete, result.errors) == ("degraded", True, {})
    con, clean = _read(dataclasses.replace(runs.proxied, data_dir=tmp_path)), _read(runs.clean)
    assert _rows(con, "charges", set()) == _rows(clean, "charges", set(ends))
    rows = con.execute("SELECT table_name, reason FROM quarantine").fetchall()
    assert rows == [("charges", "id is missing")] * len(ends)

"""The observed signals of integration health, each from the account's own data.

Each check reads its SQL (`sql/integration_*.sql`) as of a day and says green, amber, red or
unknown with its evidence and one action. A resource the sync could not read (403 or 404,
`metrics.degraded`) or a table an older sync never made leaves its signal "unknown", never red:
absence of evidence is not evidence of a broken integration. The rules, in brief:

- webhooks: red without an enabled endpoint, when an event the account needs reaches none, or
  when delivery is critical (< 99 %); amber for an endpoint on the account's default (unpinned)
  API version, delivery below 99.5 % or an event pending over a day;
- portal: red without an active configuration; amber without a default active one offering
  payment-method update, cancellation and invoice history;
- tax: red when neither Stripe Tax (settings active, a registration in force) nor tax amounts on
  invoices show; amber when partial (fewer than 95 % of subscriptions or invoices taxed);
- dunning: unknown without a failed payment to judge; red when no failed invoice was retried;
  amber when some were not, or a subscription ended for payment_failed without a retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from metrics.degraded import UNAVAILABLE, degradations
from metrics.health_views import age_reference
from metrics.integration_model import LOOKBACK, WEBHOOK_WINDOW, Evidence, Signal, Status
from metrics.signals_query import rows
from metrics.webhooks import webhook_health, webhook_summary

SUBSCRIPTION_EVENTS = (
    *(f"customer.subscription.{e}" for e in ("created", "updated", "deleted")),
    *(f"customer.subscription.{e}" for e in ("paused", "resumed", "trial_will_end")),
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.upcoming",
)
ONE_TIME_EVENTS = (
    "checkout.session.completed",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
)
DISPUTE_EVENTS = tuple(
    f"charge.dispute.{e}"
    for e in ("created", "updated", "closed", "funds_withdrawn", "funds_reinstated")
)
TAXED_ENOUGH = 0.95
STALE_PENDING = timedelta(hours=24)


@dataclass(frozen=True)
class Seen:
    """What the warehouse can say: its tables and columns, and the resources the sync could
    not read (name → the sentence of `metrics.degraded`)."""

    columns: frozenset[tuple[str, str]]
    unavailable: dict[str, str]

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection) -> Seen:
        found = con.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall()
        gaps = {g.subject: g.text for g in degradations(con) if g.kind == UNAVAILABLE}
        return cls(frozenset((str(t), str(c)) for t, c in found), gaps)

    def has(self, table: str, column: str = "id") -> bool:
        return (table, column) in self.columns

    def missing(self, *tables: str) -> Evidence | None:
        """Why one of `tables` cannot be read, or None when all can."""
        gap = self.gap(*tables)
        return None if gap is None else gap[0]

    def gap(self, *tables: str) -> tuple[Evidence, bool] | None:
        """Why one of `tables` cannot be read and whether the key is the cause (refused: a
        permission to grant) rather than a sync older than the table; None when all can."""
        for table in tables:
            if table in self.unavailable:
                return Evidence(self.unavailable[table], f"sync: {table}"), True
            if not self.has(table):
                text = f"the warehouse has no {table} yet (synced by an older paylens)"
                return Evidence(text, f"sync: {table}"), False
        return None


def unknown_for(key: str, seen: Seen, grant: str, *tables: str) -> Signal | None:
    """The "unknown" signal when one of `tables` cannot be read (None when all can): the
    action is `grant` when the key was refused, else to sync with this paylens."""
    gap = seen.gap(*tables)
    if gap is None:
        return None
    why, refused = gap
    return Signal(key, "unknown", "observed", (why,), grant if refused else "Run `paylens sync`")


def _bounds(as_of: date, span: timedelta) -> dict[str, object]:
    return {"since": as_of - span, "as_of": as_of}


def needed_events(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[list[str], Evidence]:
    """The events the account's business needs, derived from what it does in the lookback."""
    subscriptions, one_time, disputes = rows(
        con, ["integration_needs.sql"], _bounds(as_of, LOOKBACK)
    )[0]
    needed = [*(SUBSCRIPTION_EVENTS if subscriptions else ())]
    needed += [*(ONE_TIME_EVENTS if one_time else ()), *(DISPUTE_EVENTS if disputes else ())]
    text = (
        f"the account has {subscriptions:,} subscriptions and {one_time:,} one-time payments in "
        f"{LOOKBACK.days} days and {disputes:,} disputes: it needs {len(needed)} event types"
    )
    return needed, Evidence(text, "subscriptions, charges, disputes")


def _receives(events: Sequence[str], event: str) -> bool:
    return "*" in events or event in events


def webhooks(con: duckdb.DuckDBPyConnection, as_of: date, seen: Seen) -> Signal:
    """Endpoints exist, are enabled, receive the needed events, are pinned and deliver."""
    blind = unknown_for(
        "webhooks",
        seen,
        "Let the key read webhook endpoints and events",
        "webhook_endpoints",
        "events",
    )
    if blind is not None:
        return blind
    needed, why = needed_events(con, as_of)
    endpoints = rows(con, ["integration_endpoints.sql"], {"as_of": as_of})
    enabled = [(e, url, list(events), v) for e, url, status, events, v in endpoints
               if status == "enabled"]  # fmt: skip
    source = "/v1/webhook_endpoints"
    evidence = [why, Evidence(f"{len(enabled)} of {len(endpoints)} endpoints enabled", source)]
    for endpoint, url, events, version in enabled:
        lacks = [event for event in needed if not _receives(events, event)]
        said = f"missing {', '.join(lacks)}" if lacks else "receives every needed event"
        pinned = f"API version {version}" if version else "unpinned (account default version)"
        evidence.append(Evidence(f"{endpoint} ({url}): {said}; {pinned}", source))
    nowhere = [e for e in needed if not any(_receives(ep[2], e) for ep in enabled)]
    unpinned = [endpoint for endpoint, _, _, version in enabled if not version]
    summary = webhook_summary(con, as_of - WEBHOOK_WINDOW, as_of)
    band = webhook_health(summary.delivery_rate)
    rate = "no events to judge" if summary.delivery_rate is None else f"{summary.delivery_rate:.2%}"
    stale = _stale_pending(con, as_of, summary.oldest_pending)
    evidence.append(
        Evidence(
            f"delivery {rate} ({summary.delivered:,} of {summary.judged:,} events in "
            f"{WEBHOOK_WINDOW.days} days); {summary.pending_events:,} pending"
            + (f", the oldest {stale}" if stale else ""),
            "events.pending_webhooks",
        )
    )
    if not enabled:
        return _signal("webhooks", "red", evidence, "Add a webhook endpoint for the account")
    if nowhere:
        action = f"Subscribe an endpoint to {', '.join(nowhere)}"
        evidence.insert(2, Evidence(f"no enabled endpoint receives {len(nowhere)} needed", source))
        return _signal("webhooks", "red", evidence, action)
    if band == "critical":
        action = "Fix the endpoint that fails to acknowledge events (return 2xx within seconds)"
        return _signal("webhooks", "red", evidence, action)
    if unpinned:
        action = f"Pin an API version on {', '.join(unpinned)} (recreate it with api_version)"
        return _signal("webhooks", "amber", evidence, action)
    if band == "warning" or stale:
        action = "Find why events stay pending: answer 2xx at once and process asynchronously"
        return _signal("webhooks", "amber", evidence, action)
    return _signal("webhooks", "green", evidence, "Keep new event types subscribed as you add them")


def _stale_pending(
    con: duckdb.DuckDBPyConnection, as_of: date, oldest: datetime | None
) -> str | None:
    """How old the oldest pending event is, when older than STALE_PENDING (else None)."""
    if oldest is None:
        return None
    age = age_reference(con, as_of) - oldest
    return f"{age.total_seconds() / 3600:.0f} h old" if age > STALE_PENDING else None


def portal(con: duckdb.DuckDBPyConnection, as_of: date, seen: Seen) -> Signal:
    """A default, active portal configuration with the three features customers need."""
    blind = unknown_for(
        "portal",
        seen,
        "Let the key read billing portal configurations",
        "billing_portal_configurations",
    )
    if blind is not None:
        return blind
    found = rows(con, ["integration_portal.sql"], {"as_of": as_of})
    source = "/v1/billing_portal/configurations"
    active = [row for row in found if row[1]]
    evidence = [Evidence(f"{len(active)} of {len(found)} configurations active", source)]
    if not active:
        action = "Turn on the customer portal (Settings → Billing → Customer portal)"
        return _signal("portal", "red", evidence, action)
    configuration, _, is_default, *features = active[0]
    names = ("payment-method update", "cancellation", "invoice history")
    lacks = [name for name, on in zip(names, features, strict=True) if not on]
    which = "the default" if is_default else "active, not the default"
    offers = f"lacks {', '.join(lacks)}" if lacks else "offers " + ", ".join(names)
    evidence.append(Evidence(f"{configuration} ({which}): {offers}", source))
    if not is_default:
        return _signal("portal", "amber", evidence, f"Make {configuration} the default")
    if lacks:
        return _signal("portal", "amber", evidence, f"Enable {', '.join(lacks)} in the portal")
    return _signal("portal", "green", evidence, "Nothing to do")


def tax(con: duckdb.DuckDBPyConnection, as_of: date, seen: Seen) -> Signal:
    """Stripe Tax set up and used, or tax amounts on the invoices (manual tax rates)."""
    blind = unknown_for(
        "tax",
        seen,
        "Let the key read tax settings (rak_tax_settings_read)",
        "tax_settings",
        "tax_registrations",
    )
    if blind is not None:
        return blind
    settings = rows(con, ["integration_tax_settings.sql"], {"as_of": as_of})
    if not settings:
        why = Evidence("the tax settings were never synced", "/v1/tax/settings")
        return Signal("tax", "unknown", "observed", (why,), "Run `paylens sync`")
    status, behavior, country, registrations, countries = settings[0]
    ready = status == "active" and registrations > 0
    evidence = [
        Evidence(
            f"Stripe Tax {status}, head office {country or 'not set'}, "
            f"tax behaviour {behavior or 'not set'}",
            "/v1/tax/settings",
        ),
        Evidence(
            f"{registrations} registrations in force" + (f" ({countries})" if countries else ""),
            "/v1/tax/registrations",
        ),
    ]
    subscriptions, invoices = _tax_shares(con, as_of, seen, evidence)
    if ready and (subscriptions is None or subscriptions >= TAXED_ENOUGH):
        return _signal("tax", "green", evidence, "Add a registration before selling in a new place")
    if invoices is not None and invoices >= TAXED_ENOUGH:  # manual tax rates
        return _signal("tax", "green", evidence, "Keep tax rates on every invoice")
    if ready or subscriptions or invoices:
        action = (
            "Turn on automatic tax for every subscription"
            if ready
            else "Finish the Stripe Tax settings and add your registrations"
        )
        return _signal("tax", "amber", evidence, action)
    action = "Set up Stripe Tax (head office, registrations) or add tax rates to invoices"
    return _signal("tax", "red", evidence, action)


def _tax_shares(
    con: duckdb.DuckDBPyConnection, as_of: date, seen: Seen, evidence: list[Evidence]
) -> tuple[float | None, float | None]:
    """The share of live subscriptions taxed automatically and of the lookback's invoices with
    tax (None without any, or when the sync stores no tax columns yet); appends the evidence."""
    readable = all(seen.has(t, c) for t, c in _TAX_COLUMNS)
    if not readable:
        evidence.append(Evidence("no tax columns synced yet", "subscriptions, invoices"))
        return None, None
    subs, subs_taxed, invoices, invoices_taxed = rows(
        con, ["integration_tax_share.sql"], _bounds(as_of, LOOKBACK)
    )[0]
    taxed = f"{subs_taxed:,} of {subs:,} live subscriptions taxed automatically"
    evidence.append(Evidence(taxed, "subscriptions"))
    evidence.append(
        Evidence(
            f"{invoices_taxed:,} of {invoices:,} invoices in {LOOKBACK.days} days carry tax",
            "invoices",
        )
    )
    return (subs_taxed / subs if subs else None, invoices_taxed / invoices if invoices else None)


_TAX_COLUMNS = (
    ("subscriptions", "automatic_tax"),
    ("invoices", "automatic_tax"),
    ("invoices", "tax"),
)


def dunning(con: duckdb.DuckDBPyConnection, as_of: date, seen: Seen) -> Signal:
    """Failed subscription invoices are retried and recovered; none ends on the first failure."""
    blind = unknown_for(
        "dunning", seen, "Let the key read invoices and subscriptions", "invoices", "subscriptions"
    )
    if blind is not None:
        return blind
    failed, retried, recovered = retries(con, as_of)
    ended, unretried = ended_without_retry(con, as_of)
    days = LOOKBACK.days
    evidence = [
        Evidence(
            f"{retried} of {failed} failed subscription invoices in {days} days retried, "
            f"{recovered} recovered",
            "invoices.attempt_count, next_payment_attempt",
        ),
        Evidence(
            f"{unretried} of {ended} subscriptions ended for payment_failed without a retry",
            "subscriptions.cancellation_details",
        ),
    ]
    if not failed and not unretried:
        action = "Nothing to judge yet: check Billing → Revenue recovery → Retries is on"
        return Signal("dunning", "unknown", "observed", tuple(evidence), action)
    action = "Turn on Smart Retries and dunning emails (Billing → Revenue recovery)"
    if failed and not retried:
        return _signal("dunning", "red", evidence, action)
    if retried < failed or unretried:
        return _signal("dunning", "amber", evidence, action)
    return _signal("dunning", "green", evidence, "Nothing to do")


def retries(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[int, int, int]:
    """Failed subscription invoices of the lookback: failed, retried, recovered."""
    layers = ["subscription_payment_invoices.sql", "integration_dunning.sql"]
    failed, retried, recovered = rows(con, layers, _bounds(as_of, LOOKBACK))[0]
    return int(failed), int(retried), int(recovered)


def ended_without_retry(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[int, int]:
    """Subscriptions ended for payment_failed in the lookback, and those never retried."""
    ended, unretried = rows(con, ["integration_ended_unretried.sql"], _bounds(as_of, LOOKBACK))[0]
    return int(ended), int(unretried or 0)


def _signal(key: str, status: Status, evidence: Sequence[Evidence], action: str) -> Signal:
    return Signal(key, status, "observed", tuple(evidence), action)

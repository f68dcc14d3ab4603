"""The warehouse's object tables: what each takes from a Stripe object, declared once.

These declarations are the single description of an object table: `sync.schema` generates its
`CREATE TABLE` from them (typed columns, then `deleted` for deletable objects, then `raw`,
`api_version`, `synced_at`) and `sync.ingest` the SQL that reads page bodies into it. Money is
integer minor units plus a lower-case ISO currency; timestamps are UTC (TIMESTAMP, no zone).

Enums and signs follow Stripe's API reference (the `Literal` types and docstrings of the stripe
SDK, generated from Stripe's OpenAPI spec): an object with a status Stripe does not list, or a
negative amount where Stripe documents none, is quarantined with the reason rather than counted.
Enums are declared where the metrics branch on the value; other enum-like fields (card brand,
decline codes, reasons) gain values over time and stay free text.
"""

from __future__ import annotations

from sync.columns import Column, Nested, Table


def _c(
    name: str,
    kind: str = "str",
    path: str | None = None,
    required: bool = False,
    enum: tuple[str, ...] = (),
) -> Column:
    return Column(name, path or name, kind, required, enum=enum)


def _amount(name: str, required: bool = False) -> Column:
    """An integer that Stripe documents as never negative (an amount, a quantity)."""
    return Column(name, name, "int", required, nonnegative=True)


def _helper(name: str, kind: str, path: str) -> Column:
    return Column(name, path, kind, stored=False)


def _derived(name: str, kind: str, sql: str) -> Column:
    return Column(name, "", kind, derived=sql)


ID, CREATED = _c("id", "id", required=True), _c("created", "ts", required=True)
# the sum of a list of {"amount": n}, NULL when the field is absent or null (not a list)
_TAX_TOTAL = (
    "CASE WHEN json_type(total_taxes) = 'ARRAY' THEN coalesce(list_sum(list_transform("
    'from_json(total_taxes, \'[{"amount": "BIGINT"}]\'), lambda x: x.amount)), 0) END'
)

# Stripe's values (stripe SDK 16.1 `Literal`s; refund: its `status` docstring; webhook endpoint:
# "enabled or disabled")
CHARGE_STATUS = ("failed", "pending", "succeeded")
SUBSCRIPTION_STATUS = (
    "active", "canceled", "incomplete", "incomplete_expired", "past_due", "paused", "trialing",
    "unpaid",
)  # fmt: skip
INVOICE_STATUS = ("draft", "open", "paid", "uncollectible", "void")
REFUND_STATUS = ("pending", "requires_action", "succeeded", "failed", "canceled")
DISPUTE_STATUS = (
    "warning_needs_response", "warning_under_review", "warning_closed", "needs_response",
    "under_review", "won", "lost", "prevented", "appeal_needs_response", "appeal_under_review",
)  # fmt: skip
ENDPOINT_STATUS = ("enabled", "disabled")
# tax: `tax.settings.status`, `defaults.tax_behavior`, `tax.registration.status` (stripe SDK)
TAX_STATUS = ("active", "pending")
TAX_BEHAVIOR = ("exclusive", "inclusive", "inferred_by_currency")
REGISTRATION_STATUS = ("active", "expired", "scheduled")
# the id of the one row of `tax_settings` (Stripe's object has none; `sync.fetch` adds it)
TAX_SETTINGS_ID = "tax_settings"
INTERVALS = ("day", "week", "month", "year")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "customers",
            "customer",
            (ID, CREATED, _c("email"), _c("name"), _c("currency", "currency")),
            deletable=True,
        ),
        Table(
            "products",
            "product",
            (ID, CREATED, _c("name"), _c("active", "bool")),
            deletable=True,
        ),
        Table(
            "prices",
            "price",
            (
                ID,
                CREATED,
                _c("product", "ref"),
                _c("currency", "currency", required=True),
                _amount("unit_amount"),  # NULL for tiered prices
                _c("billing_scheme", enum=("per_unit", "tiered")),
                _c("tiers_mode", enum=("graduated", "volume")),  # NULL unless tiered
                _c("type", enum=("one_time", "recurring")),
                _c("interval", path="recurring.interval", enum=INTERVALS),  # NULL: one_time
                _c("interval_count", "int32", "recurring.interval_count"),
                _c("usage_type", path="recurring.usage_type", enum=("licensed", "metered")),
                _c("nickname"),
                _c("active", "bool"),
                _c("tiers", "json"),  # only when the price was served with its tiers
            ),
            deletable=True,
        ),
        Table(
            "coupons",
            "coupon",
            (
                ID,
                CREATED,
                _c("name"),
                _c("duration", required=True, enum=("forever", "once", "repeating")),
                _c("duration_in_months", "int32"),  # repeating only
                _c("percent_off", "float"),  # a percentage, e.g. 25.0
                _amount("amount_off"),  # minor units of `currency`
                _c("currency", "currency"),
                _c("valid", "bool"),
            ),
            deletable=True,
        ),
        # a coupon applied to a customer, subscription, item or invoice, seen expanded on
        # subscriptions and invoices or in `customer.discount.*` events
        Table(
            "discounts",
            "discount",
            (
                ID,
                _c("coupon", "ref", "source.coupon", required=True),
                _c("customer", "ref"),
                _c("subscription", "ref"),
                _c("subscription_item", "ref"),
                _c("invoice", "ref"),
                _c("start", "ts"),
                _c("end", "ts"),  # NULL for forever coupons
            ),
            deletable=True,
        ),
        Table(
            "subscriptions",
            "subscription",
            (
                ID,
                CREATED,
                _c("customer", "ref", required=True),
                _c("status", required=True, enum=SUBSCRIPTION_STATUS),
                _c("currency", "currency", required=True),
                _c("start_date", "ts"),
                _c("trial_start", "ts"),
                _c("trial_end", "ts"),
                _c("cancel_at_period_end", "bool"),
                _c("cancel_at", "ts"),
                _c("canceled_at", "ts"),
                _c("ended_at", "ts"),
                _c("cancellation_reason", path="cancellation_details.reason"),
                _c("discounts", "ids"),  # ids of the discounts applied (see discounts)
                _c("pause_behavior", path="pause_collection.behavior"),  # when paused
                _c("latest_invoice", "ref"),
                _c("automatic_tax", "bool", "automatic_tax.enabled"),
            ),
            nested=(Nested("subscription_items", "items"), Nested("discounts", "discounts", False)),
        ),
        # one row per item of a subscription (subscription.items, followed when it has more)
        Table(
            "subscription_items",
            "subscription_item",
            (
                ID,
                _c("subscription", "ref", required=True),
                _c("price", "ref", "price.id", required=True),
                _amount("quantity"),
                CREATED,
                _c("current_period_start", "ts"),
                _c("current_period_end", "ts"),
                _c("discounts", "ids"),
            ),
            nested=(Nested("discounts", "discounts", False),),
        ),
        Table(
            "invoices",
            "invoice",
            (
                ID,
                CREATED,
                _c("customer", "ref"),
                _c("subscription", "ref", "parent.subscription_details.subscription"),
                _c("status", enum=INVOICE_STATUS),  # NULL for an invoice being drafted
                _c("billing_reason"),
                _c("currency", "currency", required=True),
                _c("subtotal", "int"),  # may be negative (a credit proration), as total
                _c("total", "int"),
                _amount("amount_due"),
                _amount("amount_paid"),
                _c("attempt_count", "int32"),
                _c("attempted", "bool"),
                _c("next_payment_attempt", "ts"),
                _c("paid_at", "ts", "status_transitions.paid_at"),
                _c("voided_at", "ts", "status_transitions.voided_at"),
                _c("uncollectible_at", "ts", "status_transitions.marked_uncollectible_at"),
                _c("period_start", "ts"),
                _c("period_end", "ts"),
                _c("discounts", "ids"),
                _c("automatic_tax", "bool", "automatic_tax.enabled"),
                # the total tax (`total_taxes[].amount`; 0: none charged; NULL: not given)
                _helper("total_taxes", "json", "total_taxes"),
                _derived("tax", "int", _TAX_TOTAL),
            ),
            nested=(Nested("invoice_lines", "lines"), Nested("discounts", "discounts", False)),
            deletable=True,
        ),
        # one row per invoice line (invoice.lines, followed when it has more)
        Table(
            "invoice_lines",
            "line_item",
            (
                ID,
                _c("invoice", "ref", required=True),
                _helper("sub_a", "ref", "parent.subscription_item_details.subscription"),
                _helper("sub_b", "ref", "parent.invoice_item_details.subscription"),
                _derived("subscription", "ref", "coalesce(sub_a, sub_b)"),
                _c(
                    "subscription_item",
                    "ref",
                    "parent.subscription_item_details.subscription_item",
                ),
                _c("price", "ref", "pricing.price_details.price"),
                _amount("quantity"),
                _c("amount", "int", required=True),  # negative for a credit proration
                _c("currency", "currency", required=True),
                _c("period_start", "ts", "period.start"),
                _c("period_end", "ts", "period.end"),
                _helper("proration_a", "bool", "parent.subscription_item_details.proration"),
                _helper("proration_b", "bool", "parent.invoice_item_details.proration"),
                _derived("proration", "bool", "coalesce(proration_a, proration_b)"),
                _c("discount_amount", "amounts", "discount_amounts"),  # sum of [].amount
                _c("discounts", "ids"),  # of the discounts behind discount_amounts
            ),
        ),
        Table(
            "charges",
            "charge",
            (
                ID,
                CREATED,
                _c("customer", "ref"),
                _c("payment_intent", "ref"),
                _amount("amount", required=True),
                _amount("amount_refunded"),
                _c("currency", "currency", required=True),
                _c("status", required=True, enum=CHARGE_STATUS),
                _c("paid", "bool"),
                _c("failure_code"),
                _c("outcome_type", path="outcome.type"),
                _c("outcome_reason", path="outcome.reason"),
                _c("network_decline_code", path="outcome.network_decline_code"),
                _c("card_brand", path="payment_method_details.card.brand"),
                _c("card_country", path="payment_method_details.card.country"),
                _c("card_funding", path="payment_method_details.card.funding"),
                _c("failure_message"),
                _c("outcome_risk_level", path="outcome.risk_level"),
                _c("disputed", "bool"),
                _c("refunded", "bool"),
                _c("description"),
            ),
        ),
        Table(
            "refunds",
            "refund",
            (
                ID,
                CREATED,
                _c("charge", "ref"),
                _c("payment_intent", "ref"),
                _amount("amount", required=True),
                _c("currency", "currency", required=True),
                _c("status", enum=REFUND_STATUS),
                _c("reason"),
            ),
        ),
        Table(
            "disputes",
            "dispute",
            (
                ID,
                CREATED,
                _c("charge", "ref"),
                _c("payment_intent", "ref"),
                _amount("amount", required=True),
                _c("currency", "currency", required=True),
                _c("status", required=True, enum=DISPUTE_STATUS),
                _c("reason"),
                _c("evidence_due_by", "ts", "evidence_details.due_by"),
                _c("has_evidence", "bool", "evidence_details.has_evidence"),
                _c("evidence_past_due", "bool", "evidence_details.past_due"),
                _c("submission_count", "int32", "evidence_details.submission_count"),
                _c("is_charge_refundable", "bool"),
            ),
        ),
        # events of the last 30 days (Stripe keeps no more); `pending_webhooks` > 0 means an
        # endpoint has not acknowledged it yet
        Table(
            "events",
            "event",
            (
                ID,
                CREATED,
                _c("type", required=True),
                _c("object_type", path="data.object.object"),
                _c("object_id", "id", "data.object.id"),
                _c("pending_webhooks", "int32"),
                _c("previous_attributes", "json", "data.previous_attributes"),  # updates only
                _c("event_api_version", path="api_version"),  # the version it was rendered in
            ),
        ),
        Table(
            "webhook_endpoints",
            "webhook_endpoint",
            (
                ID,
                CREATED,
                _c("url"),
                _c("status", enum=ENDPOINT_STATUS),
                _c("enabled_events", "json"),
                _c("endpoint_version", path="api_version"),  # the version it receives
            ),
            deletable=True,  # also set when an endpoint is no longer listed
        ),
        # The account's integration setup (issue 20), listed whole (`sync.account_setup`): a
        # row no longer listed is removed, so each table is the account's setup as last seen.
        Table(
            "billing_portal_configurations",
            "billing_portal.configuration",
            (
                ID,
                CREATED,
                _c("active", "bool"),
                _c("is_default", "bool"),
                _c("livemode", "bool"),
                _c("payment_method_update", "bool", "features.payment_method_update.enabled"),
                _c("subscription_cancel", "bool", "features.subscription_cancel.enabled"),
                _c("invoice_history", "bool", "features.invoice_history.enabled"),
            ),
        ),
        # Stripe's one `tax.settings` object, as the row `id` = TAX_SETTINGS_ID
        Table(
            "tax_settings",
            "tax.settings",
            (
                ID,
                _c("status", required=True, enum=TAX_STATUS),
                _c("tax_behavior", path="defaults.tax_behavior", enum=TAX_BEHAVIOR),
                _c("head_office_country", path="head_office.address.country"),
                _c("livemode", "bool"),
            ),
        ),
        Table(
            "tax_registrations",
            "tax.registration",
            (
                ID,
                CREATED,
                _c("country", required=True),
                _c("status", required=True, enum=REGISTRATION_STATUS),
                _c("active_from", "ts"),
                _c("expires_at", "ts"),  # NULL: no end date
                _c("livemode", "bool"),
            ),
        ),
    )
}

"""The warehouse's object tables: what each takes from a Stripe object, declared once.

These declarations are the single description of an object table: `sync.schema` generates its
`CREATE TABLE` from them (typed columns, then `deleted` for deletable objects, then `raw`,
`api_version`, `synced_at`) and `sync.ingest` the SQL that reads page bodies into it. Money is
integer minor units plus a lower-case ISO currency; timestamps are UTC (TIMESTAMP, no zone).
"""

from __future__ import annotations

from sync.columns import Column, Nested, Table


def _c(name: str, kind: str = "str", path: str | None = None, required: bool = False) -> Column:
    return Column(name, path or name, kind, required)


def _helper(name: str, kind: str, path: str) -> Column:
    return Column(name, path, kind, stored=False)


def _derived(name: str, kind: str, sql: str) -> Column:
    return Column(name, "", kind, derived=sql)


ID, CREATED = _c("id", required=True), _c("created", "ts", required=True)

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
                _c("unit_amount", "int"),  # NULL for tiered prices
                _c("billing_scheme"),  # per_unit | tiered
                _c("tiers_mode"),  # graduated | volume | NULL
                _c("type"),  # recurring | one_time
                _c("interval", path="recurring.interval"),  # day | week | month | year | NULL
                _c("interval_count", "int32", "recurring.interval_count"),
                _c("usage_type", path="recurring.usage_type"),  # licensed | metered | NULL
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
                _c("duration", required=True),  # once | repeating | forever
                _c("duration_in_months", "int32"),  # repeating only
                _c("percent_off", "float"),  # a percentage, e.g. 25.0
                _c("amount_off", "int"),  # minor units of `currency`
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
                _c("status", required=True),
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
                _c("quantity", "int"),
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
                _c("status"),
                _c("billing_reason"),
                _c("currency", "currency", required=True),
                _c("subtotal", "int"),
                _c("total", "int"),
                _c("amount_due", "int"),
                _c("amount_paid", "int"),
                _c("attempt_count", "int32"),
                _c("attempted", "bool"),
                _c("next_payment_attempt", "ts"),
                _c("paid_at", "ts", "status_transitions.paid_at"),
                _c("voided_at", "ts", "status_transitions.voided_at"),
                _c("uncollectible_at", "ts", "status_transitions.marked_uncollectible_at"),
                _c("period_start", "ts"),
                _c("period_end", "ts"),
                _c("discounts", "ids"),
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
                _c("quantity", "int"),
                _c("amount", "int", required=True),
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
                _c("amount", "int", required=True),
                _c("amount_refunded", "int"),
                _c("currency", "currency", required=True),
                _c("status", required=True),  # succeeded | failed | pending
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
                _c("amount", "int", required=True),
                _c("currency", "currency", required=True),
                _c("status"),
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
                _c("amount", "int", required=True),
                _c("currency", "currency", required=True),
                _c("status", required=True),
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
                _c("object_id", path="data.object.id"),
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
                _c("status"),  # enabled | disabled
                _c("enabled_events", "json"),
                _c("endpoint_version", path="api_version"),  # the version it receives
            ),
            deletable=True,  # also set when an endpoint is no longer listed
        ),
    )
}

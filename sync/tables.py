"""What each warehouse table takes from a Stripe object: typed columns declared once, as data.

DuckDB parses the objects itself (`json_transform` into a struct, once per object), so a page
never becomes Python row dicts: that per-object Python work was the skeleton's bottleneck. A
`Column` names its JSON path, how to read it and whether a row without it must be quarantined;
`sync.ingest` turns these declarations into SQL. Fields not declared stay in `raw`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# How a column is read: (json_transform type, SQL over the extracted value `{v}`).
KINDS: dict[str, tuple[object, str]] = {
    "str": ("VARCHAR", "{v}"),
    "int": ("BIGINT", "{v}"),
    "int32": ("INTEGER", "{v}"),
    "bool": ("BOOLEAN", "{v}"),
    "float": ("DOUBLE", "{v}"),
    "ts": ("BIGINT", "make_timestamp({v} * 1000000)"),
    "json": ("JSON", "{v}"),
    # an id, whether the field holds the id or the expanded object
    "ref": ("JSON", "paylens_ref({v})"),
    # a list of ids or expanded objects -> a JSON array of ids
    "ids": (["JSON"], "to_json(list_transform({v}, lambda x: paylens_ref(x)))"),
    # Stripe's lower-case ISO code; an unknown one sends the object to quarantine
    "currency": ("VARCHAR", "lower({v})"),
    # the total of a list of {"amount": n} (discount_amounts)
    "amounts": (
        [{"amount": "BIGINT"}],
        "coalesce(list_sum(list_transform({v}, lambda x: x.amount)), 0)",
    ),
}


@dataclass(frozen=True)
class Column:
    name: str
    path: str  # dotted JSON path in the object
    kind: str = "str"
    required: bool = False
    stored: bool = True  # False: read only to feed an `extra` expression


@dataclass(frozen=True)
class Nested:
    """Objects a parent carries: a Stripe list (`items`, `lines`) or a plain array of objects."""

    table: str
    path: str
    is_list: bool = True  # {"data": [...], "has_more", "url"} rather than [...]


@dataclass(frozen=True)
class Table:
    name: str
    object: str  # Stripe's `object` value
    columns: tuple[Column, ...]
    nested: tuple[Nested, ...] = ()
    deletable: bool = False
    extra: dict[str, str] = field(default_factory=dict)  # column -> SQL over `o` (derived)

    def struct(self) -> str:
        """The json_transform structure reading every declared path (and nested list) once."""
        tree: dict[str, object] = {}
        leaves = [(c.path, KINDS[c.kind][0]) for c in self.columns]
        leaves += [(n.path + (".data" if n.is_list else ""), ["JSON"]) for n in self.nested]
        for path, kind in leaves:
            *parents, leaf = path.split(".")
            node = tree
            for key in parents:
                node = node.setdefault(key, {})  # type: ignore[assignment]
            node[leaf] = kind
        return json.dumps(tree)

    def nested_access(self, nested: Nested) -> str:
        return _access(nested.path + (".data" if nested.is_list else ""))

    def expression(self, column: Column) -> str:
        return KINDS[column.kind][1].format(v=_access(column.path))


def _access(path: str) -> str:
    """SQL for a dotted path into the transformed struct `o`."""
    return "o." + ".".join(f'"{key}"' for key in path.split("."))


def _c(name: str, kind: str = "str", path: str | None = None, required: bool = False) -> Column:
    return Column(name, path or name, kind, required)


def _helper(name: str, kind: str, path: str) -> Column:
    return Column(name, path, kind, stored=False)


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
                _c("unit_amount", "int"),
                _c("billing_scheme"),
                _c("tiers_mode"),
                _c("type"),
                _c("interval", path="recurring.interval"),
                _c("interval_count", "int32", "recurring.interval_count"),
                _c("usage_type", path="recurring.usage_type"),
                _c("nickname"),
                _c("active", "bool"),
                _c("tiers", "json"),
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
                _c("duration", required=True),
                _c("duration_in_months", "int32"),
                _c("percent_off", "float"),
                _c("amount_off", "int"),
                _c("currency", "currency"),
                _c("valid", "bool"),
            ),
            deletable=True,
        ),
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
                _c("end", "ts"),
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
                _c("discounts", "ids"),
                _c("pause_behavior", path="pause_collection.behavior"),
                _c("latest_invoice", "ref"),
            ),
            nested=(Nested("subscription_items", "items"), Nested("discounts", "discounts", False)),
        ),
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
        Table(
            "invoice_lines",
            "line_item",
            (
                ID,
                _c("invoice", "ref", required=True),
                _helper("sub_a", "ref", "parent.subscription_item_details.subscription"),
                _helper("sub_b", "ref", "parent.invoice_item_details.subscription"),
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
                _c("discount_amount", "amounts", "discount_amounts"),
                _c("discounts", "ids"),
            ),
            extra={
                "subscription": "coalesce(sub_a, sub_b)",
                "proration": "coalesce(proration_a, proration_b)",
            },
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
                _c("status", required=True),
                _c("paid", "bool"),
                _c("failure_code"),
                _c("failure_message"),
                _c("outcome_type", path="outcome.type"),
                _c("outcome_reason", path="outcome.reason"),
                _c("network_decline_code", path="outcome.network_decline_code"),
                _c("outcome_risk_level", path="outcome.risk_level"),
                _c("card_brand", path="payment_method_details.card.brand"),
                _c("card_country", path="payment_method_details.card.country"),
                _c("card_funding", path="payment_method_details.card.funding"),
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
                _c("previous_attributes", "json", "data.previous_attributes"),
                _c("event_api_version", path="api_version"),
            ),
        ),
        Table(
            "webhook_endpoints",
            "webhook_endpoint",
            (
                ID,
                CREATED,
                _c("url"),
                _c("status"),
                _c("enabled_events", "json"),
                _c("endpoint_version", path="api_version"),
            ),
            deletable=True,
        ),
    )
}


def _with_deleted_flag(table: Table) -> Table:
    """Deletable objects come back as `{"id", "deleted": true}` stubs; read that flag too."""
    if not table.deletable:
        return table
    flag = Column("deleted_field", "deleted", "bool", stored=False)
    return Table(
        table.name,
        table.object,
        (*table.columns, flag),
        table.nested,
        table.deletable,
        {**table.extra, "deleted": "deleted OR coalesce(deleted_field, FALSE)"},
    )


TABLES = {name: _with_deleted_flag(table) for name, table in TABLES.items()}

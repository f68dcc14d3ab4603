-- The warehouse: one row per Stripe object, typed columns plus the raw JSON it came from.
-- Money is integer minor units plus a lower-case ISO currency; timestamps are UTC (TIMESTAMP, no
-- zone). Every object table keeps `raw` (the object as served), `api_version` (the version it was
-- rendered in) and `synced_at` (when this row was last written). The DDL is idempotent.

CREATE TABLE IF NOT EXISTS customers (
    id          VARCHAR PRIMARY KEY,
    created     TIMESTAMP NOT NULL,
    email       VARCHAR,
    name        VARCHAR,
    currency    VARCHAR,
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    raw         JSON NOT NULL,
    api_version VARCHAR NOT NULL,
    synced_at   TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS products (
    id          VARCHAR PRIMARY KEY,
    created     TIMESTAMP NOT NULL,
    name        VARCHAR,
    active      BOOLEAN,
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    raw         JSON NOT NULL,
    api_version VARCHAR NOT NULL,
    synced_at   TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS prices (
    id                  VARCHAR PRIMARY KEY,
    created             TIMESTAMP NOT NULL,
    product             VARCHAR,
    currency            VARCHAR NOT NULL,
    unit_amount         BIGINT,          -- minor units; NULL for tiered prices
    billing_scheme      VARCHAR,         -- per_unit | tiered
    tiers_mode          VARCHAR,         -- graduated | volume | NULL
    type                VARCHAR,         -- recurring | one_time
    interval            VARCHAR,         -- day | week | month | year | NULL
    interval_count      INTEGER,
    usage_type          VARCHAR,         -- licensed | metered | NULL
    nickname            VARCHAR,
    active              BOOLEAN,
    tiers               JSON,            -- only when the price was served with its tiers
    deleted             BOOLEAN NOT NULL DEFAULT FALSE,
    raw                 JSON NOT NULL,
    api_version         VARCHAR NOT NULL,
    synced_at           TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS subscriptions (
    id                   VARCHAR PRIMARY KEY,
    created              TIMESTAMP NOT NULL,
    customer             VARCHAR NOT NULL,
    status               VARCHAR NOT NULL,
    currency             VARCHAR NOT NULL,
    start_date           TIMESTAMP,
    trial_start          TIMESTAMP,
    trial_end            TIMESTAMP,
    cancel_at_period_end BOOLEAN,
    cancel_at            TIMESTAMP,
    canceled_at          TIMESTAMP,
    ended_at             TIMESTAMP,
    cancellation_reason  VARCHAR,        -- cancellation_details.reason
    discounts            JSON,           -- ids of the discounts applied (see discounts)
    pause_behavior       VARCHAR,        -- pause_collection.behavior when collection is paused
    latest_invoice       VARCHAR,
    raw                  JSON NOT NULL,
    api_version          VARCHAR NOT NULL,
    synced_at            TIMESTAMP NOT NULL
);

-- One row per item of a subscription (subscription.items, followed when it has more).
CREATE TABLE IF NOT EXISTS subscription_items (
    id                   VARCHAR PRIMARY KEY,
    subscription         VARCHAR NOT NULL,
    price                VARCHAR NOT NULL,
    quantity             BIGINT,
    created              TIMESTAMP NOT NULL,
    current_period_start TIMESTAMP,
    current_period_end   TIMESTAMP,
    discounts            JSON,           -- ids of the item-level discounts
    raw                  JSON NOT NULL,
    api_version          VARCHAR NOT NULL,
    synced_at            TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS invoices (
    id             VARCHAR PRIMARY KEY,
    created        TIMESTAMP NOT NULL,
    customer       VARCHAR,
    subscription   VARCHAR,              -- parent.subscription_details.subscription
    status         VARCHAR,
    billing_reason VARCHAR,
    currency       VARCHAR NOT NULL,
    subtotal       BIGINT,
    total          BIGINT,
    amount_due     BIGINT,
    amount_paid    BIGINT,
    attempt_count  INTEGER,
    attempted      BOOLEAN,
    next_payment_attempt TIMESTAMP,
    paid_at        TIMESTAMP,            -- status_transitions.paid_at
    voided_at      TIMESTAMP,            -- status_transitions.voided_at
    uncollectible_at TIMESTAMP,          -- status_transitions.marked_uncollectible_at
    period_start   TIMESTAMP,
    period_end     TIMESTAMP,
    discounts      JSON,                 -- ids of the invoice-level discounts
    deleted        BOOLEAN NOT NULL DEFAULT FALSE,
    raw            JSON NOT NULL,
    api_version    VARCHAR NOT NULL,
    synced_at      TIMESTAMP NOT NULL
);

-- One row per invoice line (invoice.lines, followed when it has more).
CREATE TABLE IF NOT EXISTS invoice_lines (
    id                VARCHAR PRIMARY KEY,
    invoice           VARCHAR NOT NULL,
    subscription      VARCHAR,           -- parent.subscription_item_details.subscription
    subscription_item VARCHAR,           -- parent.subscription_item_details.subscription_item
    price             VARCHAR,           -- pricing.price_details.price
    quantity          BIGINT,
    amount            BIGINT NOT NULL,
    currency          VARCHAR NOT NULL,
    period_start      TIMESTAMP,
    period_end        TIMESTAMP,
    proration         BOOLEAN,
    discount_amount   BIGINT,            -- sum of discount_amounts[].amount
    discounts         JSON,              -- ids of the discounts behind discount_amounts
    raw               JSON NOT NULL,
    api_version       VARCHAR NOT NULL,
    synced_at         TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS charges (
    id                   VARCHAR PRIMARY KEY,
    created              TIMESTAMP NOT NULL,
    customer             VARCHAR,
    payment_intent       VARCHAR,
    amount               BIGINT NOT NULL,
    amount_refunded      BIGINT,
    currency             VARCHAR NOT NULL,
    status               VARCHAR NOT NULL,  -- succeeded | failed | pending
    paid                 BOOLEAN,
    failure_code         VARCHAR,
    outcome_type         VARCHAR,
    outcome_reason       VARCHAR,
    network_decline_code VARCHAR,
    card_brand           VARCHAR,
    card_country         VARCHAR,
    card_funding         VARCHAR,
    failure_message      VARCHAR,
    outcome_risk_level   VARCHAR,
    disputed             BOOLEAN,
    refunded             BOOLEAN,
    description          VARCHAR,
    raw                  JSON NOT NULL,
    api_version          VARCHAR NOT NULL,
    synced_at            TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS coupons (
    id                 VARCHAR PRIMARY KEY,
    created            TIMESTAMP NOT NULL,
    name               VARCHAR,
    duration           VARCHAR,          -- once | repeating | forever
    duration_in_months INTEGER,          -- repeating only
    percent_off        DOUBLE,           -- a percentage, e.g. 25.0
    amount_off         BIGINT,           -- minor units of `currency`
    currency           VARCHAR,
    valid              BOOLEAN,
    deleted            BOOLEAN NOT NULL DEFAULT FALSE,
    raw                JSON NOT NULL,
    api_version        VARCHAR NOT NULL,
    synced_at          TIMESTAMP NOT NULL
);

-- A coupon applied to a customer, subscription, item or invoice (Stripe's `discount` object),
-- seen expanded on subscriptions and invoices or in `customer.discount.*` events.
CREATE TABLE IF NOT EXISTS discounts (
    id                VARCHAR PRIMARY KEY,
    coupon            VARCHAR NOT NULL,  -- source.coupon (or coupon.id in older versions)
    customer          VARCHAR,
    subscription      VARCHAR,
    subscription_item VARCHAR,
    invoice           VARCHAR,
    start             TIMESTAMP,
    "end"             TIMESTAMP,         -- NULL for forever coupons
    deleted           BOOLEAN NOT NULL DEFAULT FALSE,
    raw               JSON NOT NULL,
    api_version       VARCHAR NOT NULL,
    synced_at         TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS refunds (
    id             VARCHAR PRIMARY KEY,
    created        TIMESTAMP NOT NULL,
    charge         VARCHAR,
    payment_intent VARCHAR,
    amount         BIGINT NOT NULL,
    currency       VARCHAR NOT NULL,
    status         VARCHAR,              -- pending | succeeded | failed | canceled
    reason         VARCHAR,
    raw            JSON NOT NULL,
    api_version    VARCHAR NOT NULL,
    synced_at      TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS disputes (
    id                   VARCHAR PRIMARY KEY,
    created              TIMESTAMP NOT NULL,
    charge               VARCHAR,
    payment_intent       VARCHAR,
    amount               BIGINT NOT NULL,
    currency             VARCHAR NOT NULL,
    status               VARCHAR NOT NULL, -- warning_needs_response … needs_response, won, lost
    reason               VARCHAR,
    evidence_due_by      TIMESTAMP,        -- evidence_details.due_by
    has_evidence         BOOLEAN,          -- evidence_details.has_evidence
    evidence_past_due    BOOLEAN,          -- evidence_details.past_due
    submission_count     INTEGER,          -- evidence_details.submission_count
    is_charge_refundable BOOLEAN,
    raw                  JSON NOT NULL,
    api_version          VARCHAR NOT NULL,
    synced_at            TIMESTAMP NOT NULL
);

-- Events of the last 30 days (Stripe keeps no more); `pending_webhooks` > 0 means an endpoint
-- has not acknowledged it yet.
CREATE TABLE IF NOT EXISTS events (
    id                  VARCHAR PRIMARY KEY,
    created             TIMESTAMP NOT NULL,
    type                VARCHAR NOT NULL,
    object_type         VARCHAR,           -- data.object.object
    object_id           VARCHAR,           -- data.object.id
    pending_webhooks    INTEGER,
    previous_attributes JSON,              -- data.previous_attributes (updates only)
    event_api_version   VARCHAR,           -- the version the event was rendered in
    raw                 JSON NOT NULL,
    api_version         VARCHAR NOT NULL,
    synced_at           TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS webhook_endpoints (
    id                VARCHAR PRIMARY KEY,
    created           TIMESTAMP NOT NULL,
    url               VARCHAR,
    status            VARCHAR,           -- enabled | disabled
    enabled_events    JSON,
    endpoint_version  VARCHAR,           -- api_version the endpoint receives
    deleted           BOOLEAN NOT NULL DEFAULT FALSE, -- no longer listed
    raw               JSON NOT NULL,
    api_version       VARCHAR NOT NULL,
    synced_at         TIMESTAMP NOT NULL
);

-- Objects the sync could not store as typed rows, with the reason; the rest of their page was
-- stored. Keyed by table and object id (or a hash of the raw text when it has no usable id).
CREATE TABLE IF NOT EXISTS quarantine (
    table_name VARCHAR NOT NULL,
    object_key VARCHAR NOT NULL,
    reason     VARCHAR NOT NULL,
    raw        VARCHAR,
    first_seen TIMESTAMP NOT NULL,
    last_seen  TIMESTAMP NOT NULL,
    PRIMARY KEY (table_name, object_key)
);

-- History: what each subscription item billed, and what status each subscription had, over
-- time. valid_to is exclusive; NULL means "still so". `source` says how the span was learned:
-- invoice (line items before the first sync), subscription (fields such as trial_end or
-- canceled_at), event (previous_attributes) or sync (a change seen between two syncs).
CREATE TABLE IF NOT EXISTS subscription_item_history (
    subscription      VARCHAR NOT NULL,
    subscription_item VARCHAR NOT NULL,
    price             VARCHAR NOT NULL,
    quantity          BIGINT,
    discounts         JSON,              -- discount ids in force on the item and subscription
    valid_from        TIMESTAMP NOT NULL,
    valid_to          TIMESTAMP,
    source            VARCHAR NOT NULL,
    PRIMARY KEY (subscription_item, valid_from)
);

CREATE TABLE IF NOT EXISTS subscription_status_history (
    subscription VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,
    valid_from   TIMESTAMP NOT NULL,
    valid_to     TIMESTAMP,
    source       VARCHAR NOT NULL,
    PRIMARY KEY (subscription, valid_from)
);

-- Observations of subscription state: one row per subscription item (and one per status)
-- whenever a sync finds a state different from the last one observed — the raw material of
-- sync-to-sync history.
CREATE TABLE IF NOT EXISTS subscription_observations (
    subscription      VARCHAR NOT NULL,
    observed_at       TIMESTAMP NOT NULL,
    status            VARCHAR NOT NULL,
    items             JSON NOT NULL,     -- [[item, price, quantity], ...] sorted by item
    discounts         JSON,
    PRIMARY KEY (subscription, observed_at)
);

-- One row per sync run: what it read and wrote, and how it ended.
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id      VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,        -- backfill | incremental
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,        -- running | ok | partial | failed | abandoned
    reads       INTEGER NOT NULL DEFAULT 0,
    objects     JSON,                    -- {"customers": 120, ...}
    error       VARCHAR,
    errors      JSON                     -- {"refunds": "the API key may not read ..."}
);

-- The sync's own bookkeeping: the events cursor, the backfill in progress, when webhook
-- endpoints were last listed. One JSON value per key.
CREATE TABLE IF NOT EXISTS sync_state (
    key        VARCHAR PRIMARY KEY,
    value      JSON NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Backfill progress: `created` windows of each resource, [lo, hi] inclusive (hi NULL: no upper
-- bound). A window is `done` once every object in it is stored; a restart refetches the rest.
CREATE TABLE IF NOT EXISTS sync_windows (
    resource VARCHAR NOT NULL,
    lo       BIGINT NOT NULL,
    hi       BIGINT,
    state    VARCHAR NOT NULL,           -- pending | done | forbidden
    PRIMARY KEY (resource, lo)
);

-- Reads per calendar month (UTC) of the runs' start, against Stripe's allowance (a floor of
-- 10,000 a month). A run's reads are stored as it goes, so a killed run still counts.
CREATE OR REPLACE VIEW sync_reads_monthly AS
SELECT CAST(date_trunc('month', started_at) AS DATE) AS month, sum(reads)::BIGINT AS reads
FROM sync_runs GROUP BY ALL;

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
    period_start   TIMESTAMP,
    period_end     TIMESTAMP,
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
    raw                  JSON NOT NULL,
    api_version          VARCHAR NOT NULL,
    synced_at            TIMESTAMP NOT NULL
);

-- One row per sync run: what it read and wrote, and how it ended.
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id      VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,        -- backfill | incremental
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,        -- running | ok | failed
    reads       INTEGER NOT NULL DEFAULT 0,
    objects     JSON,                    -- {"customers": 120, ...}
    error       VARCHAR
);

-- The warehouse's tables that do not hold Stripe objects: quarantine, history, the sync's own
-- bookkeeping. The object tables (customers ... webhook_endpoints) are generated from their
-- declarations in sync/tables.py; `sync.schema.schema_sql()` returns both. Idempotent.

-- Objects the sync could not store as typed rows, with the reason; the rest of their page was
-- stored. Keyed by table and object id (its JSON text when it is not a string, a hash of the raw
-- text without one); the n-th identical copy in one page is `<id> #n` (sync/ingest.py), so every
-- bad object is kept. All copies of an id leave when a valid version of it is stored.
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

-- One row per sync run: what it read and wrote, and how it ended. Its times are on the
-- account's clock (Stripe's `Date` header, sync/clock.py), never the machine's.
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,       -- backfill | incremental
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,       -- running | ok | partial | failed | abandoned
    reads        INTEGER NOT NULL DEFAULT 0,
    objects      JSON,                   -- {"customers": 120, ...}
    error        VARCHAR,
    errors       JSON,                   -- {"refunds": "the API key may not read ..."}
    account_time TIMESTAMP               -- Stripe's time at the run's last response; NULL: none
);
-- Warehouses created before `account_time` existed.
ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS account_time TIMESTAMP;
-- The day's reconciliation (sync/reconcile.py), in the run that made it: objects new or changed
-- per table, i.e. what the events missed ({"charges": 3}; {} none); NULL: the run made none.
ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS reconciled JSON;

-- The sync's own bookkeeping: the events cursor, the backfill in progress, when webhook
-- endpoints were last listed, Stripe's clock minus the machine's. One JSON value per key.
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
    state    VARCHAR NOT NULL,           -- pending | done | unavailable (403/404)
    PRIMARY KEY (resource, lo)
);

-- Reads per calendar month (UTC) of the runs' start, against Stripe's allowance (a floor of
-- 10,000 a month). A run's reads are stored as it goes, so a killed run still counts.
CREATE OR REPLACE VIEW sync_reads_monthly AS
SELECT CAST(date_trunc('month', started_at) AS DATE) AS month, sum(reads)::BIGINT AS reads
FROM sync_runs GROUP BY ALL;

-- Subscriptions whose history an events poll may have changed since the last rebuild
-- (sync/history.py rebuilds them and empties the table in one transaction).
CREATE TABLE IF NOT EXISTS history_pending (
    subscription VARCHAR PRIMARY KEY
);

-- Subscriptions whose stored MRR tables (metrics/refresh.py) may be out of date: those whose
-- history a rebuild rewrote (every subscription after a full rebuild: a full MRR refresh is then
-- due), and those an events poll touched through what the MRR reads beside the history (a
-- price, a coupon, a discount, an invoice line carrying one). Filled by sync/history.py, in the
-- transaction that changes them; `metrics.refresh.refresh_pending` empties it in its own.
CREATE TABLE IF NOT EXISTS mrr_pending (
    subscription VARCHAR PRIMARY KEY
);

-- Changes the API cannot date (docs/SYNC.md "What cannot be known"): a subscription's state
-- reconstructed from its invoices disagrees with a later state that is known (the one at the
-- events window's start, or the next renewal invoice). The change happened after `earliest`
-- (the start of the last span that showed the old state) and at or before `placed_at`, where
-- the history places it. One row per item (price and quantity) or per status change
-- (`subscription_item` = ''); rebuilt with the subscription's history.
CREATE TABLE IF NOT EXISTS undated_changes (
    subscription      VARCHAR NOT NULL,
    subscription_item VARCHAR NOT NULL,
    earliest          TIMESTAMP,
    placed_at         TIMESTAMP NOT NULL,
    shown_by          VARCHAR NOT NULL,  -- window_start | invoice
    before_price      VARCHAR,           -- NULL: the item was absent (or a status change)
    before_quantity   BIGINT,
    after_price       VARCHAR,
    after_quantity    BIGINT,
    before_status     VARCHAR,           -- status changes only
    after_status      VARCHAR,
    PRIMARY KEY (subscription, subscription_item, placed_at)
);

-- Warehouses created before the integration evidence (issue 20, sync/tables.py): its columns on
-- existing object tables. Rows stored before keep NULL until their object is stored again (an
-- event, the daily reconciliation, a backfill); their `raw` holds the values meanwhile.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS automatic_tax BOOLEAN;
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS automatic_tax BOOLEAN;
ALTER TABLE invoices ADD COLUMN IF NOT EXISTS tax BIGINT;

-- The alert engine's tables in the master file (the service is their only writer; a snapshot
-- copies them, so the dashboard shows state, history and deliveries). Idempotent.
-- Every TIMESTAMP is naive UTC: alerts.store converts aware datetimes to UTC before binding
-- them (DuckDB would otherwise convert by the session's TimeZone, the machine's by default).
-- Account time: the account's clock (Stripe's, as the sync has it). Machine time: this host's.

-- Where each rule × segment stands after the last cycle: replaced whole by every cycle.
CREATE TABLE IF NOT EXISTS alert_state (
    rule        VARCHAR NOT NULL,
    segment     VARCHAR NOT NULL,        -- '' is the whole account
    status      VARCHAR NOT NULL,        -- ok | pending | firing | no_data
    level       VARCHAR,                 -- warning | critical | NULL
    since       TIMESTAMP NOT NULL,      -- account time: when `status` began
    fired_at    TIMESTAMP,               -- account time: when the current firing began
    notified_at TIMESTAMP,               -- account time: the last message about it
    value       DOUBLE,
    updated     TIMESTAMP NOT NULL,      -- machine time: the cycle that wrote the row
    PRIMARY KEY (rule, segment)
);

CREATE SEQUENCE IF NOT EXISTS alert_transition_id START 1;

-- Every change of state, appended (the history page). `notification` is the outbox key of the
-- message that carried it (NULL: no message: pending, cancelled, no_data, or muted).
CREATE TABLE IF NOT EXISTS alert_transitions (
    id               BIGINT PRIMARY KEY DEFAULT nextval('alert_transition_id'),
    rule             VARCHAR NOT NULL,
    segment          VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,   -- alerts.model.TransitionKind
    occurred_at      TIMESTAMP NOT NULL, -- account time (Transition.at; AT is reserved in SQL)
    before           VARCHAR NOT NULL,
    after            VARCHAR NOT NULL,
    level            VARCHAR,
    value            DOUBLE,
    threshold        DOUBLE,
    notify           BOOLEAN NOT NULL,
    muted_by         VARCHAR,            -- "silence <id>: <reason>" | "sync <rule>" | NULL
    duration_seconds DOUBLE,             -- resolved: how long it fired
    notification     VARCHAR,
    label            VARCHAR,            -- the reading's, raw (escape when rendering)
    driver           VARCHAR,
    detail           VARCHAR
);

CREATE SEQUENCE IF NOT EXISTS alert_outbox_seq START 1;

-- Messages to deliver, recorded before they are sent. `key` is Notification.key, so one set of
-- transitions is queued once; `seq` is the delivery order (a machine clock can step back).
-- The webhook URL is a secret and is never stored: `channel` names the kind of receiver.
CREATE TABLE IF NOT EXISTS alert_outbox (
    key           VARCHAR PRIMARY KEY,
    seq           BIGINT NOT NULL DEFAULT nextval('alert_outbox_seq'),
    created       TIMESTAMP NOT NULL,    -- account time: the cycle that made the notification
    recorded      TIMESTAMP NOT NULL,    -- machine time: when it was queued
    channel       VARCHAR NOT NULL,      -- slack
    payload       JSON NOT NULL,         -- the Block Kit body, exactly as it is posted
    summary       VARCHAR NOT NULL,      -- the fallback text, for the dashboard
    status        VARCHAR NOT NULL,      -- queued | sent | failed
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TIMESTAMP NOT NULL,    -- machine time: not before (a retry's wait, a lease)
    last_attempt  TIMESTAMP,             -- machine time: when the last request went out
    last_error    VARCHAR,               -- "503 service unavailable", "404 no_service", ...
    sent_at       TIMESTAMP,             -- machine time: when Slack answered 200
    answer_status INTEGER                -- the last HTTP status (NULL: no answer: a network error)
);

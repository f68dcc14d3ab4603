-- What the history rebuild (sync/history.sql) needs before it runs per batch of subscriptions.
-- $now: the sync time.

-- 1. Observations: the state this sync sees, recorded when it differs from the last one, for
-- the subscriptions in `history_observing` (sync/history.py: every one on a full rebuild, else
-- those noted since the last rebuild; no other subscription's status or items can have changed).
INSERT INTO subscription_observations
WITH
seen AS (
    SELECT id, status, discounts FROM subscriptions
    WHERE id IN (SELECT subscription FROM history_observing)
),
items AS (  -- the items as [[item, price, quantity], ...] sorted by item
    SELECT subscription,
           to_json(list([id, price, CAST(quantity AS VARCHAR)] ORDER BY id)) AS items
    FROM subscription_items
    WHERE subscription IN (SELECT subscription FROM history_observing)
    GROUP BY subscription
),
latest AS (  -- the last observation of each
    SELECT subscription, status, items FROM subscription_observations
    WHERE subscription IN (SELECT subscription FROM history_observing)
    QUALIFY row_number() OVER (PARTITION BY subscription ORDER BY observed_at DESC) = 1
)
SELECT s.id, $now, s.status, coalesce(i.items, '[]'), s.discounts
FROM seen AS s
LEFT JOIN items AS i ON i.subscription = s.id
LEFT JOIN latest AS l ON l.subscription = s.id
WHERE NOT coalesce(l.status = s.status AND l.items = coalesce(i.items, '[]'), FALSE)
ON CONFLICT DO NOTHING;

-- The events window: from its start on, every change of a subscription has its event.
-- The window starts 30 days (Stripe keeps events that long) before the first sync that
-- completed the latest (re-)backfill: its events were listed before it, so they reach back at
-- least that far. No events at all (a key that may not read them): no window.
-- first_sync: when the first sync observed (later observations follow events).
CREATE OR REPLACE TEMP TABLE events_window AS
SELECT (SELECT min(o.observed_at) - INTERVAL 30 DAY
        FROM subscription_observations AS o
        WHERE o.observed_at >= coalesce((SELECT max(started_at) FROM sync_runs
                                         WHERE kind = 'backfill'), TIMESTAMP '1970-01-01')
          AND EXISTS (SELECT 1 FROM events)) AS since,
       (SELECT min(observed_at) FROM subscription_observations) AS first_sync;

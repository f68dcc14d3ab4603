-- What the history rebuild (sync/history.sql) needs from the whole warehouse, before it runs
-- per batch of subscriptions. $now: the sync time.

-- 1. Observations: the state this sync sees, recorded when it differs from the last one.
INSERT INTO subscription_observations
SELECT s.id, $now, s.status,
       coalesce((SELECT to_json(list([i.id, i.price, CAST(i.quantity AS VARCHAR)] ORDER BY i.id))
                 FROM subscription_items AS i WHERE i.subscription = s.id), '[]'),
       s.discounts
FROM subscriptions AS s
WHERE NOT EXISTS (
    SELECT 1 FROM subscription_observations AS o
    WHERE o.subscription = s.id
      AND o.observed_at = (SELECT max(observed_at) FROM subscription_observations
                           WHERE subscription = s.id)
      AND o.status = s.status
      AND o.items = coalesce((SELECT to_json(list([i.id, i.price, CAST(i.quantity AS VARCHAR)]
                                              ORDER BY i.id))
                              FROM subscription_items AS i WHERE i.subscription = s.id), '[]')
)
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

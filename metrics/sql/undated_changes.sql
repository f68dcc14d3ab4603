-- Changes of a subscription the API cannot date (`undated_changes`, written by the sync's
-- history rebuild), with what each does to the subscription's net MRR where the history places
-- it: MRR at the end of the day before `placed_at`'s day, and at the end of that day.
-- Grain: one row per subscription and day where undated changes were placed on or before $as_of
-- (several items changed at once are one row). Reads the layer `mrr_subscription_segments` and
-- the sync's `undated_changes`, `subscriptions`. Parameters: $as_of (DATE) and the MRR settings.
WITH

-- One row per subscription and placement day; `earliest`: the change happened after it.
placed AS (
    SELECT u.subscription, CAST(u.placed_at AS DATE) AS placed_day, min(u.earliest) AS earliest,
        string_agg(DISTINCT u.shown_by, ',' ORDER BY u.shown_by) AS shown_by,
        count(*) AS changes
    FROM undated_changes AS u
    WHERE CAST(u.placed_at AS DATE) <= CAST($as_of AS DATE)
    GROUP BY ALL
)

-- The subscription's net MRR on either side of the placement (0 when it does not count then):
-- what a reader of the days before it may have wrong. Changes of a subscription that had ended
-- (shown_by `subscription`) are placed at its end, so their effect before it is not known.
SELECT p.subscription, s.customer, s.currency, p.earliest, p.placed_day, p.shown_by, p.changes,
    COALESCE((SELECT sum(g.net_mrr_minor) FROM mrr_subscription_segments AS g
              WHERE g.subscription = p.subscription
                AND g.from_day <= p.placed_day - 1 AND p.placed_day - 1 < g.to_day), 0.0)
        AS before_mrr_minor,
    COALESCE((SELECT sum(g.net_mrr_minor) FROM mrr_subscription_segments AS g
              WHERE g.subscription = p.subscription
                AND g.from_day <= p.placed_day AND p.placed_day < g.to_day), 0.0)
        AS after_mrr_minor
FROM placed AS p
JOIN subscriptions AS s ON s.id = p.subscription
ORDER BY p.placed_day, p.subscription

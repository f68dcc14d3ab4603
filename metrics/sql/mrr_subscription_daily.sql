-- List and net MRR per subscription per UTC day in [$start, $as_of]: the segments of
-- `mrr_subscription_segments` read day by day.
-- Grain: one row per (day, subscription) with at least one counted item.
-- Reads the layer `mrr_subscription_segments`. Parameters: $start, $as_of (DATE).
WITH

-- A calendar spine: one row per day of the window.
spine AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($start AS DATE), CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
)

SELECT spine.day, s.subscription, s.customer, s.currency, s.items, s.list_mrr_minor,
    s.net_mrr_minor
FROM spine
JOIN mrr_subscription_segments AS s ON s.from_day <= spine.day AND spine.day < s.to_day

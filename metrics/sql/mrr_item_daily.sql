-- List MRR per subscription item per UTC day in [$start, $as_of]: the item segments of
-- `mrr_item_segments` read day by day (the drill-down rows).
-- Grain: one row per (day, subscription item) that counts toward MRR at the end of that day.
-- Reads the layer `mrr_item_segments`. Parameters: $start, $as_of (DATE).
WITH

-- A calendar spine: one row per day of the window.
spine AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($start AS DATE), CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
)

SELECT spine.day, s.subscription, s.customer, s.subscription_item, s.price, s.currency, s.quantity,
    s.period_amount_minor, s.list_mrr_minor, s.months_factor
FROM spine
JOIN mrr_item_segments AS s ON s.from_day <= spine.day AND spine.day < s.to_day

-- Each customer's paid spells: runs of consecutive days with net MRR above 0 (in any currency).
-- Grain: one row per (customer, spell). A spell with last_day < $as_of ended (the customer
-- churned the day after); spell > 1 is a return (reactivation) when the spine starts early enough
-- to see the earlier spells.
-- Reads the layer `mrr_subscription_daily`. Parameters: $start, $as_of (DATE) via that layer.
WITH

-- A customer is paying on a day when any of its subscriptions has net MRR above 0.
paid_days AS (
    SELECT DISTINCT customer, day FROM mrr_subscription_daily WHERE net_mrr_minor > 0
),

-- Gaps and islands: consecutive days share day − row number.
islands AS (
    SELECT customer, day,
        day - CAST(row_number() OVER (PARTITION BY customer ORDER BY day) AS INTEGER) AS island
    FROM paid_days
)

SELECT customer, MIN(day) AS first_day, MAX(day) AS last_day,
    row_number() OVER (PARTITION BY customer ORDER BY MIN(day)) AS spell
FROM islands
GROUP BY customer, island

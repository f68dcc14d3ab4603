-- Each customer's paid spells: runs of consecutive days in [$start, $as_of] with net MRR above 0
-- (in any currency), merged from its subscriptions' segments.
-- Grain: one row per (customer, spell). A spell with last_day < $as_of ended (the customer
-- churned the day after); spell > 1 is a return (reactivation) when $start is early enough to see
-- the earlier spells.
-- Reads the layer `mrr_subscription_segments`. Parameters: $start, $as_of (DATE).
WITH

-- A customer is paying on a day when any of its subscriptions has net MRR above 0: those
-- segments, cut to the window.
paid AS (
    SELECT customer, GREATEST(from_day, CAST($start AS DATE)) AS from_day,
        LEAST(to_day, CAST(CAST($as_of AS DATE) + INTERVAL 1 DAY AS DATE)) AS to_day
    FROM mrr_subscription_segments
    WHERE net_mrr_minor > 0
      AND from_day <= CAST($as_of AS DATE) AND to_day > CAST($start AS DATE)
),

-- A segment starting after every earlier one of the customer ended (not on the day one ended:
-- that continues the run) opens a spell.
opened AS (
    SELECT customer, from_day, to_day,
        CASE WHEN from_day <= MAX(to_day) OVER (
            PARTITION BY customer ORDER BY from_day, to_day
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS opens
    FROM paid
),

numbered AS (
    SELECT customer, from_day, to_day,
        CAST(SUM(opens) OVER (PARTITION BY customer ORDER BY from_day, to_day) AS BIGINT) AS island
    FROM opened
)

-- the customer's first segment always opens, so islands are numbered 1, 2, … in time order
SELECT customer, MIN(from_day) AS first_day, CAST(MAX(to_day) - 1 AS DATE) AS last_day,
    island AS spell
FROM numbered
GROUP BY customer, island

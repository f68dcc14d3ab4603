-- MRR per currency per UTC day in [$start, $as_of], as running sums over segment boundaries: each
-- subscription segment adds its MRR on its first day and takes it off on its end day, so a day's
-- total is the sum of the segments containing it without reading every subscription every day.
-- Grain: one row per (day, currency) with at least one subscription counted that day.
-- Reads the layer `mrr_subscription_segments`. Parameters: $start, $as_of (DATE).
-- Sums run in DECIMAL(38, 14): exact, so a total does not drift with the segments before it.
WITH

-- The segments overlapping the window, cut to it.
clipped AS (
    SELECT currency, customer, net_mrr_minor > 0 AS paid,
        GREATEST(from_day, CAST($start AS DATE)) AS from_day,
        LEAST(to_day, CAST(CAST($as_of AS DATE) + INTERVAL 1 DAY AS DATE)) AS to_day,
        CAST(list_mrr_minor AS DECIMAL(38, 14)) AS list_mrr_minor,
        CAST(net_mrr_minor AS DECIMAL(38, 14)) AS net_mrr_minor
    FROM mrr_subscription_segments
    WHERE from_day <= CAST($as_of AS DATE) AND to_day > CAST($start AS DATE)
),

-- A customer pays in a currency while any of its subscriptions there has net MRR above 0: its
-- paid segments merged into runs (a segment starting after every earlier one ended opens a run).
customer_runs AS (
    SELECT currency, customer, MIN(from_day) AS from_day, MAX(to_day) AS to_day
    FROM (
        SELECT currency, customer, from_day, to_day,
            SUM(opens) OVER (PARTITION BY currency, customer ORDER BY from_day, to_day) AS run
        FROM (
            SELECT currency, customer, from_day, to_day,
                CASE WHEN from_day <= MAX(to_day) OVER (
                    PARTITION BY currency, customer ORDER BY from_day, to_day
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS opens
            FROM clipped WHERE paid
        )
    )
    GROUP BY currency, customer, run
),

-- +value on the first day, −value on the end day.
deltas AS (
    SELECT currency, from_day AS day, list_mrr_minor AS list_d, net_mrr_minor AS net_d,
        1 AS rows_d, CAST(paid AS INTEGER) AS paid_d, 0 AS customers_d FROM clipped
    UNION ALL
    SELECT currency, to_day, -list_mrr_minor, -net_mrr_minor, -1, -CAST(paid AS INTEGER), 0
    FROM clipped
    UNION ALL
    SELECT currency, from_day, 0, 0, 0, 0, 1 FROM customer_runs
    UNION ALL
    SELECT currency, to_day, 0, 0, 0, 0, -1 FROM customer_runs
),

-- The level of each total from one boundary day to the next.
levels AS (
    SELECT currency, day AS from_day,
        lead(day, 1, CAST(CAST($as_of AS DATE) + INTERVAL 1 DAY AS DATE))
            OVER (PARTITION BY currency ORDER BY day) AS to_day,
        SUM(SUM(list_d)) OVER (PARTITION BY currency ORDER BY day) AS list_mrr_minor,
        SUM(SUM(net_d)) OVER (PARTITION BY currency ORDER BY day) AS net_mrr_minor,
        SUM(SUM(rows_d)) OVER (PARTITION BY currency ORDER BY day) AS subscriptions,
        SUM(SUM(paid_d)) OVER (PARTITION BY currency ORDER BY day) AS active_subscriptions,
        SUM(SUM(customers_d)) OVER (PARTITION BY currency ORDER BY day) AS active_customers
    FROM deltas
    GROUP BY currency, day
),

-- A calendar spine: one row per day of the window.
spine AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($start AS DATE), CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
)

SELECT spine.day, l.currency, CAST(l.list_mrr_minor AS DOUBLE) AS list_mrr_minor,
    CAST(l.net_mrr_minor AS DOUBLE) AS net_mrr_minor,
    CAST(l.active_subscriptions AS BIGINT) AS active_subscriptions,
    CAST(l.active_customers AS BIGINT) AS active_customers
FROM spine
JOIN levels AS l ON l.from_day <= spine.day AND spine.day < l.to_day
WHERE l.subscriptions > 0
ORDER BY spine.day, l.currency

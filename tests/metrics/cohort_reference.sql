-- The cohort query as first written (tests only): every customer's MRR read at every month end,
-- one row per customer and month. metrics/sql/cohort_retention.sql computes the same per span.
-- Cohort retention by signup month: customers and net MRR retained at each month end.
-- Grain: one row per (cohort month, currency, months since signup).
-- A customer's signup day is its first day with net MRR above 0; its cohort is that month and
-- its currency the one it first paid in. Month k ends on the last day of cohort month + k (the
-- last one at $as_of). Base MRR: the cohort's net MRR on each customer's first paid day.
-- Reads the layer `mrr_subscription_segments`. Parameters: $start (first day of history), $as_of.
WITH

-- The first paid day of each customer in each currency, up to $as_of.
first_paid AS (
    SELECT customer, currency, GREATEST(MIN(from_day), CAST($start AS DATE)) AS day
    FROM mrr_subscription_segments
    WHERE net_mrr_minor > 0
      AND from_day <= CAST($as_of AS DATE) AND to_day > CAST($start AS DATE)
    GROUP BY ALL
),

-- The first paid day of each customer, with the currency it started in.
signups AS (
    SELECT customer, day AS signup_day, currency, CAST(date_trunc('month', day) AS DATE) AS cohort
    FROM first_paid
    QUALIFY row_number() OVER (PARTITION BY customer ORDER BY day, currency) = 1
),

-- Month ends from the first cohort on; the current month ends at $as_of.
month_ends AS (
    SELECT LEAST(CAST(last_day(CAST(m AS DATE)) AS DATE), CAST($as_of AS DATE)) AS day,
        CAST(m AS DATE) AS month
    FROM range((SELECT MIN(cohort) FROM signups), CAST($as_of AS DATE) + INTERVAL 1 DAY,
               INTERVAL 1 MONTH) AS t(m)
),

-- The days each customer's MRR is read on: its signup day (the base) and every month end from
-- its signup month on.
reads AS (
    SELECT s.customer, s.currency, s.signup_day AS day, -1 AS months_since FROM signups AS s
    UNION ALL
    SELECT s.customer, s.currency, e.day, datediff('month', s.cohort, e.month)
    FROM signups AS s JOIN month_ends AS e ON e.month >= s.cohort
),

-- The customer's net MRR in its signup currency at the end of each of those days.
valued AS (
    SELECT r.customer, r.currency, r.months_since, COALESCE(SUM(g.net_mrr_minor), 0) AS net
    FROM reads AS r
    LEFT JOIN mrr_subscription_segments AS g
      ON g.customer = r.customer AND g.currency = r.currency
     AND g.from_day <= r.day AND r.day < g.to_day
    GROUP BY ALL
),

retained AS (
    SELECT s.cohort, s.currency, s.customer, b.net AS base_mrr_minor, v.months_since,
        CASE WHEN v.net > 0 THEN v.net ELSE 0 END AS mrr_minor
    FROM signups AS s
    JOIN valued AS b ON b.customer = s.customer AND b.months_since = -1
    JOIN valued AS v ON v.customer = s.customer AND v.months_since >= 0
)

SELECT cohort, currency, months_since,
    COUNT(*) AS customers,
    COUNT(*) FILTER (WHERE mrr_minor > 0) AS retained_customers,
    SUM(base_mrr_minor) AS base_mrr_minor,
    SUM(mrr_minor) AS mrr_minor
FROM retained
GROUP BY ALL
ORDER BY cohort, currency, months_since

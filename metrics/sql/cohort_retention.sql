-- Cohort retention by signup month: customers and net MRR retained at each month end.
-- Grain: one row per (cohort month, currency, months since signup).
-- A customer's signup day is its first day with net MRR above 0; its cohort is that month and
-- its currency the one it first paid in. Month k ends on the last day of cohort month + k (the
-- last one at $as_of). Base MRR: the cohort's net MRR on each customer's first paid day.
-- Reads the layer `mrr_subscription_daily` (from the first day of history). Parameters: $as_of.
WITH

customer_days AS (
    SELECT day, customer, currency, SUM(net_mrr_minor) AS net_mrr_minor
    FROM mrr_subscription_daily GROUP BY ALL HAVING SUM(net_mrr_minor) > 0
),

-- The first paid day of each customer, with the currency and MRR it started with.
signups AS (
    SELECT customer, day AS signup_day, currency, net_mrr_minor AS base_mrr_minor,
        CAST(date_trunc('month', day) AS DATE) AS cohort
    FROM customer_days
    QUALIFY row_number() OVER (PARTITION BY customer ORDER BY day, currency) = 1
),

-- Month ends from the first cohort on; the current month ends at $as_of.
month_ends AS (
    SELECT LEAST(CAST(last_day(CAST(m AS DATE)) AS DATE), CAST($as_of AS DATE)) AS day,
        CAST(m AS DATE) AS month
    FROM range((SELECT MIN(cohort) FROM signups), CAST($as_of AS DATE) + INTERVAL 1 DAY,
               INTERVAL 1 MONTH) AS t(m)
),

-- Every cohort customer at every month end from its signup month on, with its MRR then.
retained AS (
    SELECT s.cohort, s.currency, s.customer, s.base_mrr_minor,
        datediff('month', s.cohort, e.month) AS months_since,
        COALESCE(d.net_mrr_minor, 0) AS mrr_minor
    FROM signups AS s
    JOIN month_ends AS e ON e.month >= s.cohort
    LEFT JOIN customer_days AS d
      ON d.customer = s.customer AND d.currency = s.currency AND d.day = e.day
)

SELECT cohort, currency, months_since,
    COUNT(*) AS customers,
    COUNT(*) FILTER (WHERE mrr_minor > 0) AS retained_customers,
    SUM(base_mrr_minor) AS base_mrr_minor,
    SUM(mrr_minor) AS mrr_minor
FROM retained
GROUP BY ALL
ORDER BY cohort, currency, months_since

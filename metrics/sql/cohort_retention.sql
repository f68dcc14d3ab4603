-- Cohort retention by signup month: customers and net MRR retained at each month end.
-- Grain: one row per (cohort month, currency, months since signup).
-- A customer's signup is its `new` change (its first day with net MRR above 0); its cohort is that
-- month and its currency the one it first paid in (the first by name if it started in two on that
-- day). Month k ends on the last day of cohort month + k (the last one at $as_of). Base MRR: the
-- cohort's net MRR on each customer's signup day.
-- Reads the layer `mrr_customer_changes` (from $start, the first day of history). Parameters:
-- $start, $as_of (DATE).
--
-- Summed from the same labelled changes as the movements: each change of a cohort customer in
-- its signup currency adds its signed amount to the month it falls in, and one to the paying
-- customers when it goes from 0 to above 0 (minus one from above 0 to 0); a running sum over the
-- months gives the cohort's MRR and paying customers at each month end. So a cohort's MRR moves
-- by exactly its customers' movements.
WITH

signups AS (
    SELECT customer, earliest.day AS signup_day, earliest.currency AS currency,
        CAST(date_trunc('month', earliest.day) AS DATE) AS cohort,
        datediff('month', date_trunc('month', earliest.day), CAST($as_of AS DATE)) AS last_month
    FROM (
        SELECT customer, MIN({'day': day, 'currency': currency}) AS earliest
        FROM mrr_customer_changes
        WHERE kind = 'new'
        GROUP BY customer
    )
),

-- The customers' changes in their signup currency, by months since signup.
own AS (
    SELECT s.cohort, s.currency, datediff('month', s.cohort, c.day) AS k,
        c.change_minor AS mrr,
        CASE WHEN c.before_mrr_minor = 0 THEN 1 WHEN c.after_mrr_minor = 0 THEN -1 ELSE 0 END
            AS customers,
        CASE WHEN c.day = s.signup_day THEN c.after_mrr_minor ELSE 0 END AS base
    FROM mrr_customer_changes AS c
    JOIN signups AS s ON s.customer = c.customer AND s.currency = c.currency
),

-- Cohort sizes and base MRR (each customer's MRR on its signup day, in its currency).
cohorts AS (
    SELECT c.cohort, c.currency, c.last_month, c.customers,
        COALESCE(b.base_mrr_minor, 0.0) AS base_mrr_minor
    FROM (SELECT cohort, currency, last_month, COUNT(*) AS customers FROM signups GROUP BY ALL) AS c
    LEFT JOIN (SELECT cohort, currency, SUM(base) AS base_mrr_minor FROM own WHERE k = 0
               GROUP BY ALL) AS b
      ON b.cohort = c.cohort AND b.currency = c.currency
),

months AS (
    SELECT c.cohort, c.currency, c.customers, c.base_mrr_minor, k.months_since
    FROM cohorts AS c, range(0, c.last_month + 1) AS k(months_since)
),

summed AS (
    SELECT m.cohort, m.currency, m.months_since, m.customers, m.base_mrr_minor,
        SUM(COALESCE(d.customers, 0)) OVER w AS retained_customers,
        SUM(COALESCE(d.mrr, 0)) OVER w AS mrr_minor
    FROM months AS m
    LEFT JOIN (SELECT cohort, currency, k, SUM(customers) AS customers, SUM(mrr) AS mrr
               FROM own GROUP BY ALL) AS d
      ON d.cohort = m.cohort AND d.currency = m.currency AND d.k = m.months_since
    WINDOW w AS (PARTITION BY m.cohort, m.currency ORDER BY m.months_since)
)

SELECT cohort, currency, months_since, customers, CAST(retained_customers AS BIGINT)
        AS retained_customers,
    CAST(base_mrr_minor AS DOUBLE) AS base_mrr_minor, CAST(mrr_minor AS DOUBLE) AS mrr_minor
FROM summed
ORDER BY cohort, currency, months_since

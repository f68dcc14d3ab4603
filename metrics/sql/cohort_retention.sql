-- Cohort retention by signup month: customers and net MRR retained at each month end.
-- Grain: one row per (cohort month, currency, months since signup).
-- A customer's signup day is its first day with net MRR above 0; its cohort is that month and
-- its currency the one it first paid in. Month k ends on the last day of cohort month + k (the
-- last one at $as_of). Base MRR: the cohort's net MRR on each customer's first paid day.
-- Reads the layer `mrr_subscription_segments`. Parameters: $start (first day of history), $as_of.
--
-- Computed per *segment* (in the signup currency), not per month end: each paying segment adds
-- itself to the month ends it covers as a difference (+ at the first, − after the last), and a
-- running sum over the months adds them up. Segments are never below 0, so a customer's MRR at a
-- month end is the sum of its segments covering it, and it is paying there when one of them does;
-- a customer is counted once per month end by counting, of each segment, only the month ends its
-- customer's earlier-starting segments do not cover. The result equals reading every customer's
-- MRR at every month end, at a fraction of the rows.
WITH

-- Segments of the window, up to $as_of.
paid AS (
    SELECT customer, currency, from_day, to_day, net_mrr_minor
    FROM mrr_subscription_segments
    WHERE from_day <= CAST($as_of AS DATE) AND to_day > CAST($start AS DATE)
),

-- The first paid day of each customer (from $start on) and the currency it started in (the first
-- by name if it started in two on that day): one minimum of (day, currency).
signups AS (
    SELECT customer, earliest.day AS signup_day, earliest.currency AS currency,
        CAST(date_trunc('month', earliest.day) AS DATE) AS cohort,
        datediff('month', date_trunc('month', earliest.day), CAST($as_of AS DATE)) AS last_month
    FROM (
        SELECT customer,
            MIN({'day': GREATEST(from_day, CAST($start AS DATE)), 'currency': currency})
                AS earliest
        FROM paid
        WHERE net_mrr_minor > 0
        GROUP BY customer
    )
),

-- The customer's paying segments in its signup currency, from its signup day on, and the month
-- ends each covers: month k ends on LEAST(last day of cohort + k, $as_of); the first k whose end
-- is on or after its first day, the last whose end is before its end (at most $as_of + 1).
own AS (
    SELECT p.customer, s.cohort, s.currency, p.net_mrr_minor AS mrr,
        p.from_day <= s.signup_day AS at_signup,
        datediff('month', s.cohort, GREATEST(p.from_day, s.signup_day)) AS k_first,
        datediff('month', s.cohort, LEAST(p.to_day, CAST($as_of AS DATE) + 1) - 1)
            - CASE WHEN p.to_day - 1 = last_day(p.to_day - 1) OR p.to_day > CAST($as_of AS DATE)
                   THEN 0 ELSE 1 END AS k_last
    FROM paid AS p
    JOIN signups AS s ON s.customer = p.customer AND s.currency = p.currency
    WHERE p.to_day > s.signup_day AND p.net_mrr_minor > 0
),

-- The month ends of each segment no earlier-starting segment of its customer covers: from past
-- the furthest those reach.
fresh AS (
    SELECT cohort, currency, mrr, k_first, k_last,
        GREATEST(k_first, COALESCE(1 + MAX(k_last) OVER (
            PARTITION BY customer ORDER BY k_first
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), k_first)) AS k_new
    FROM own
    WHERE k_first <= k_last
),

-- Differences per month: a segment's MRR counts from k_first through k_last, its customer from
-- k_new through k_last. Rows 0 and 1 carry both; row 2, only where k_new is past k_first.
steps AS (
    SELECT cohort, currency,
        CASE i WHEN 0 THEN k_first WHEN 1 THEN k_last + 1 ELSE k_new END AS k,
        CASE WHEN (i = 0 AND k_new = k_first) OR i = 2 THEN 1
             WHEN i = 1 AND k_new <= k_last THEN -1 ELSE 0 END AS customers,
        CASE i WHEN 0 THEN mrr WHEN 1 THEN -mrr ELSE 0.0 END AS mrr
    FROM fresh, range(3) AS r(i)
    WHERE i < 2 OR (k_first < k_new AND k_new <= k_last)
),

-- Cohort sizes and base MRR (each customer's MRR on its signup day, in its currency).
cohorts AS (
    SELECT c.cohort, c.currency, c.last_month, c.customers,
        COALESCE(b.base_mrr_minor, 0.0) AS base_mrr_minor
    FROM (SELECT cohort, currency, last_month, COUNT(*) AS customers FROM signups GROUP BY ALL) AS c
    LEFT JOIN (SELECT cohort, currency, SUM(mrr) AS base_mrr_minor FROM own WHERE at_signup
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
               FROM steps GROUP BY ALL) AS d
      ON d.cohort = m.cohort AND d.currency = m.currency AND d.k = m.months_since
    WINDOW w AS (PARTITION BY m.cohort, m.currency ORDER BY m.months_since)
)

SELECT cohort, currency, months_since, customers, CAST(retained_customers AS BIGINT)
        AS retained_customers,
    base_mrr_minor, mrr_minor
FROM summed
ORDER BY cohort, currency, months_since

-- Cohort retention by signup month: customers and net MRR retained at each month end.
-- Grain: one row per (cohort month, currency, months since signup).
-- A customer's signup day is its first day with net MRR above 0; its cohort is that month and
-- its currency the one it first paid in. Month k ends on the last day of cohort month + k (the
-- last one at $as_of). Base MRR: the cohort's net MRR on each customer's first paid day.
-- Reads the layer `mrr_subscription_segments`. Parameters: $start (first day of history), $as_of.
--
-- Computed per *span* (days over which a customer's MRR in its signup currency is constant), not
-- per month end: each span adds itself to the month ends it covers as a difference (+ at the
-- first, − after the last), and a running sum over the months adds them up. The result equals
-- reading every customer's MRR at every month end, at a fraction of the rows.
WITH

-- Segments of the window, up to $as_of.
paid AS (
    SELECT customer, currency, from_day, to_day, net_mrr_minor
    FROM mrr_subscription_segments
    WHERE from_day <= CAST($as_of AS DATE) AND to_day > CAST($start AS DATE)
),

-- The first paid day of each customer in each currency.
first_paid AS (
    SELECT customer, currency, GREATEST(MIN(from_day), CAST($start AS DATE)) AS day
    FROM paid
    WHERE net_mrr_minor > 0
    GROUP BY ALL
),

-- The first paid day of each customer, with the currency it started in.
signups AS (
    SELECT customer, day AS signup_day, currency, CAST(date_trunc('month', day) AS DATE) AS cohort,
        datediff('month', date_trunc('month', day), CAST($as_of AS DATE)) AS last_month
    FROM first_paid
    QUALIFY row_number() OVER (PARTITION BY customer ORDER BY day, currency) = 1
),

-- The customer's segments in its signup currency, from its signup day on.
own AS (
    SELECT p.customer, p.currency, s.cohort, s.signup_day, p.from_day, p.to_day, p.net_mrr_minor
    FROM paid AS p
    JOIN signups AS s ON s.customer = p.customer AND s.currency = p.currency
    WHERE p.to_day > s.signup_day
),

-- Days its MRR may change on (a segment starts or ends), each starting a span until the next.
changes AS (
    SELECT DISTINCT customer, cohort, GREATEST(from_day, signup_day) AS day FROM own
    UNION
    SELECT customer, cohort, to_day FROM own WHERE to_day <= CAST($as_of AS DATE)
),

spans AS (
    SELECT customer, cohort, day AS from_day,
        COALESCE(lead(day) OVER (PARTITION BY customer ORDER BY day),
                 CAST($as_of AS DATE) + 1) AS to_day
    FROM changes
),

-- Each span's MRR (the segments containing its first day), where it is above 0.
valued AS (
    SELECT s.customer, s.cohort, o.currency, s.from_day, s.to_day,
        SUM(o.net_mrr_minor) AS mrr
    FROM spans AS s
    JOIN own AS o
      ON o.customer = s.customer AND o.from_day <= s.from_day AND s.from_day < o.to_day
    GROUP BY ALL
    HAVING SUM(o.net_mrr_minor) > 0
),

-- The month ends a span covers: month k ends on LEAST(last day of cohort + k, $as_of); the
-- first k whose end is on or after its first day, the last whose end is before its end.
covered AS (
    SELECT cohort, currency, mrr,
        datediff('month', cohort, from_day) AS k_first,
        datediff('month', cohort, to_day - 1)
            - CASE WHEN to_day - 1 = last_day(to_day - 1) OR to_day - 1 >= CAST($as_of AS DATE)
                   THEN 0 ELSE 1 END AS k_last
    FROM valued
),

-- Differences per month: a span counts from k_first through k_last.
steps AS (
    SELECT cohort, currency, k_first AS k, 1 AS customers, mrr FROM covered WHERE k_first <= k_last
    UNION ALL
    SELECT cohort, currency, k_last + 1, -1, -mrr FROM covered WHERE k_first <= k_last
),

-- Cohort sizes and base MRR (each customer's MRR on its signup day, in its currency).
cohorts AS (
    SELECT s.cohort, s.currency, s.last_month, COUNT(*) AS customers,
        SUM(COALESCE(b.mrr, 0)) AS base_mrr_minor
    FROM signups AS s
    LEFT JOIN valued AS b ON b.customer = s.customer AND b.from_day = s.signup_day
    GROUP BY ALL
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

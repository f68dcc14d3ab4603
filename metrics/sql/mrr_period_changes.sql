-- Each customer's net MRR per currency at the two ends of every period, from the segments.
-- Periods: calendar months from $start's through $as_of's (the first starts on $start, the last
-- ends at $as_of), or, with $single_period, the one period [$start, $as_of]. A period's start value
-- is the net MRR at the end of the day before it, its end value the one at its last day.
-- Grain: one row per (period, customer, currency) paying at either end.
-- Reads the layer `mrr_subscription_segments`. Parameters: $start, $as_of (DATE),
-- $single_period (BOOLEAN).
WITH

-- The last day of each period: month ends before $as_of, then $as_of.
ends AS (
    SELECT DISTINCT LEAST(CAST(last_day(CAST(m AS DATE)) AS DATE), CAST($as_of AS DATE)) AS day
    FROM range(CAST(date_trunc('month', CAST($start AS DATE)) AS TIMESTAMP),
               CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 MONTH) AS t(m)
    WHERE NOT $single_period
    UNION
    SELECT CAST($as_of AS DATE)
),

periods AS (
    SELECT lag(day, 1, CAST($start AS DATE) - 1) OVER (ORDER BY day) AS before, day AS period_end
    FROM ends
),

-- Net MRR per (customer, currency) at the end of each boundary day: the segments containing it.
boundary_values AS (
    SELECT b.day, s.customer, s.currency, SUM(s.net_mrr_minor) AS net_mrr_minor
    FROM (SELECT before AS day FROM periods UNION SELECT period_end FROM periods) AS b
    JOIN mrr_subscription_segments AS s ON s.from_day <= b.day AND b.day < s.to_day
    GROUP BY ALL
    HAVING SUM(s.net_mrr_minor) > 0
),

-- The first day each customer paid, per currency (from the first day of history).
first_paid AS (
    SELECT customer, currency, MIN(from_day) AS first_day
    FROM mrr_subscription_segments
    WHERE net_mrr_minor > 0
    GROUP BY ALL
),

at_start AS (
    SELECT p.before, p.period_end, v.customer, v.currency, v.net_mrr_minor
    FROM periods AS p JOIN boundary_values AS v ON v.day = p.before
),

at_end AS (
    SELECT p.before, p.period_end, v.customer, v.currency, v.net_mrr_minor
    FROM periods AS p JOIN boundary_values AS v ON v.day = p.period_end
),

pairs AS (
    SELECT COALESCE(a.before, b.before) AS before, COALESCE(a.period_end, b.period_end) AS period_end,
        COALESCE(a.customer, b.customer) AS customer, COALESCE(a.currency, b.currency) AS currency,
        COALESCE(a.net_mrr_minor, 0.0) AS start_mrr_minor,
        COALESCE(b.net_mrr_minor, 0.0) AS end_mrr_minor
    FROM at_start AS a
    FULL JOIN at_end AS b
      ON b.period_end = a.period_end AND b.customer = a.customer AND b.currency = a.currency
)

-- paid_before: this customer paid in this currency on a day up to the period's start;
-- customer_paid_before: in any currency (a return in another currency is still a return).
SELECT CAST(p.before + 1 AS DATE) AS period_start, p.period_end, p.customer, p.currency,
    p.start_mrr_minor, p.end_mrr_minor,
    COALESCE(f.first_day <= p.before, FALSE) AS paid_before,
    COALESCE((SELECT MIN(g.first_day) FROM first_paid AS g WHERE g.customer = p.customer)
             <= p.before, FALSE) AS customer_paid_before
FROM pairs AS p
LEFT JOIN first_paid AS f ON f.customer = p.customer AND f.currency = p.currency

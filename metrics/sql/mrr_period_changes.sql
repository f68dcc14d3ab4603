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

-- Both ends of every period as the days to read them on: the day before it and its last day.
marks AS (
    SELECT before AS day, before, period_end, TRUE AS at_start FROM periods
    UNION ALL
    SELECT period_end, before, period_end, FALSE FROM periods
),

-- Net MRR per (period, customer, currency) at both ends, in one pass: the segments containing
-- each end's day.
sums AS (
    SELECT m.before, m.period_end, s.customer, s.currency,
        SUM(s.net_mrr_minor) FILTER (WHERE m.at_start) AS start_sum,
        SUM(s.net_mrr_minor) FILTER (WHERE NOT m.at_start) AS end_sum
    FROM marks AS m
    JOIN mrr_subscription_segments AS s ON s.from_day <= m.day AND m.day < s.to_day
    GROUP BY ALL
),

-- The first day each customer paid, per currency and in any currency (from the first day of
-- history). A customer paying in a currency at either end of a period has a row here.
first_paid AS (
    SELECT customer, currency, first_day,
        MIN(first_day) OVER (PARTITION BY customer) AS customer_first_day
    FROM (
        SELECT customer, currency, MIN(from_day) AS first_day
        FROM mrr_subscription_segments
        WHERE net_mrr_minor > 0
        GROUP BY ALL
    )
),

-- Paying at either end (net MRR above 0); not paying counts as 0.
pairs AS (
    SELECT before, period_end, customer, currency,
        CASE WHEN start_sum > 0 THEN start_sum ELSE 0.0 END AS start_mrr_minor,
        CASE WHEN end_sum > 0 THEN end_sum ELSE 0.0 END AS end_mrr_minor
    FROM sums
    WHERE start_sum > 0 OR end_sum > 0
)

-- paid_before: this customer paid in this currency on a day up to the period's start;
-- customer_paid_before: in any currency (a return in another currency is still a return).
SELECT CAST(p.before + 1 AS DATE) AS period_start, p.period_end, p.customer, p.currency,
    p.start_mrr_minor, p.end_mrr_minor,
    COALESCE(f.first_day <= p.before, FALSE) AS paid_before,
    COALESCE(f.customer_first_day <= p.before, FALSE) AS customer_paid_before
FROM pairs AS p
LEFT JOIN first_paid AS f ON f.customer = p.customer AND f.currency = p.currency

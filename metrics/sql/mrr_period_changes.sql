-- Each customer's net MRR per currency at the two ends of every period in which it may have
-- changed. A period's start value is the net MRR at the end of the day before it, its end value
-- the one at its last day. A customer's MRR can differ between the two only if one of its segments
-- starts or ends inside the period, so only those customers are read (a tenth of them in a month
-- on `large`); whoever is not here kept its start value (`mrr_period_starts` has the totals).
-- Grain: one row per (period, customer, currency) with a segment boundary in the period, paying
-- at either end.
-- Reads the layers `mrr_subscription_segments` and `mrr_periods`. Parameters: $start, $as_of
-- (DATE), $single_period (BOOLEAN).
WITH

-- Customers with a segment starting or ending inside a period: the period of a day in
-- [$start, $as_of] ends at its month's end (or at $as_of), or at $as_of with $single_period.
touched AS (
    SELECT DISTINCT p.before, p.period_end, b.customer, b.currency
    FROM (SELECT customer, currency, from_day AS day FROM mrr_subscription_segments
          UNION ALL
          SELECT customer, currency, to_day FROM mrr_subscription_segments) AS b
    JOIN mrr_periods AS p
      ON p.period_end = CASE WHEN $single_period THEN CAST($as_of AS DATE)
                             ELSE LEAST(CAST(last_day(b.day) AS DATE), CAST($as_of AS DATE)) END
    WHERE b.day >= CAST($start AS DATE) AND b.day <= CAST($as_of AS DATE)
),

-- Their net MRR at both ends: the segments containing each end's day.
sums AS (
    SELECT t.before, t.period_end, t.customer, t.currency,
        SUM(s.net_mrr_minor) FILTER (WHERE s.from_day <= t.before AND t.before < s.to_day)
            AS start_sum,
        SUM(s.net_mrr_minor) FILTER (WHERE s.from_day <= t.period_end AND t.period_end < s.to_day)
            AS end_sum
    FROM touched AS t
    JOIN mrr_subscription_segments AS s
      ON s.customer = t.customer AND s.currency = t.currency
     AND s.from_day <= t.period_end AND t.before < s.to_day
    GROUP BY ALL
),

-- The first day each customer paid, per currency and in any currency (from the first day of
-- history).
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

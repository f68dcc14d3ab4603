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
    SELECT p.before, p.period_end, t.customer, t.currency
    FROM (
        SELECT DISTINCT customer, currency,
            CASE WHEN $single_period THEN CAST($as_of AS DATE)
                 ELSE LEAST(CAST(last_day(day) AS DATE), CAST($as_of AS DATE)) END AS period_end
        FROM (SELECT customer, currency, from_day AS day FROM mrr_subscription_segments
              UNION ALL
              SELECT customer, currency, to_day FROM mrr_subscription_segments)
        WHERE day >= CAST($start AS DATE) AND day <= CAST($as_of AS DATE)
    ) AS t
    JOIN mrr_periods AS p USING (period_end)
),

-- In one pass over the customer's segments starting by each period's end (those of the currency
-- reaching past the day before it, and every paying one): its net MRR at both ends (the segments
-- in the currency containing each end's day) and the first day it paid, in this currency and in
-- any (from the first day of history; only whether that is before the period matters).
sums AS (
    SELECT t.before, t.period_end, t.customer, t.currency,
        SUM(s.net_mrr_minor) FILTER (WHERE s.currency = t.currency
                                       AND s.from_day <= t.before AND t.before < s.to_day)
            AS start_sum,
        SUM(s.net_mrr_minor) FILTER (WHERE s.currency = t.currency AND t.period_end < s.to_day)
            AS end_sum,
        MIN(s.from_day) FILTER (WHERE s.currency = t.currency AND s.net_mrr_minor > 0)
            AS first_day,
        MIN(s.from_day) FILTER (WHERE s.net_mrr_minor > 0) AS customer_first_day
    FROM touched AS t
    JOIN mrr_subscription_segments AS s
      ON s.customer = t.customer AND s.from_day <= t.period_end
     AND ((s.currency = t.currency AND t.before < s.to_day) OR s.net_mrr_minor > 0)
    GROUP BY ALL
)

-- Paying at either end (net MRR above 0; not paying counts as 0). paid_before: this customer
-- paid in this currency on a day up to the period's start; customer_paid_before: in any currency
-- (a return in another currency is still a return).
SELECT CAST(before + 1 AS DATE) AS period_start, period_end, customer, currency,
    CASE WHEN start_sum > 0 THEN start_sum ELSE 0.0 END AS start_mrr_minor,
    CASE WHEN end_sum > 0 THEN end_sum ELSE 0.0 END AS end_mrr_minor,
    COALESCE(first_day <= before, FALSE) AS paid_before,
    COALESCE(customer_first_day <= before, FALSE) AS customer_paid_before
FROM sums
WHERE start_sum > 0 OR end_sum > 0

-- The changes of `mrr_customer_changes` summed per period: calendar months from $start's through
-- $as_of's (the first starts on $start, the last ends at $as_of), or with $single_period the one
-- period [$start, $as_of].
-- Grain: one row per (period, customer, currency, kind) with a change of that kind in the period.
-- Reads the layer `mrr_customer_changes` (its days are already in [$start, $as_of]). Parameters:
-- $start, $as_of (DATE), $single_period (BOOLEAN).
--
-- start/end_mrr_minor: the customer's MRR in the currency at the end of the day before the period
-- and at its last day (before its first change in the period, after its last), so end = start +
-- its signed movements. in_cohort: the customer paid (in any currency) at the end of the day
-- before the period, the cohort NRR and GRR are measured on.
WITH

placed AS (
    SELECT *,
        CASE WHEN $single_period THEN CAST($start AS DATE)
             ELSE GREATEST(CAST(date_trunc('month', day) AS DATE), CAST($start AS DATE))
        END AS period_start,
        CASE WHEN $single_period THEN CAST($as_of AS DATE)
             ELSE LEAST(CAST(last_day(day) AS DATE), CAST($as_of AS DATE)) END AS period_end
    FROM mrr_customer_changes
),

-- Per (period, customer, currency): its level at both ends and its first change's day.
ends AS (
    SELECT period_start, period_end, customer, currency, MIN(day) AS day,
        arg_min(before_mrr_minor, day) AS start_mrr_minor,
        arg_max(after_mrr_minor, day) AS end_mrr_minor,
        arg_min(customer_paying_before, day) AS customer_paying_before
    FROM placed
    GROUP BY ALL
),

-- Per (period, customer): whether it paid at the start, read before its first change in the
-- period in any currency (a GROUP BY, not a window: no sort).
cohort AS (
    SELECT period_end, customer, arg_min(customer_paying_before, day) AS in_cohort
    FROM ends
    GROUP BY ALL
),

-- Per (period, customer, currency, kind): the changes of that kind summed.
kinds AS (
    SELECT period_start, period_end, customer, currency, kind, SUM(amount_minor) AS amount_minor,
        COUNT(*) AS changes, MIN(day) AS first_day
    FROM placed
    GROUP BY ALL
)

SELECT k.period_start, k.period_end, k.customer, k.currency, e.start_mrr_minor, e.end_mrr_minor,
    k.kind, k.amount_minor, k.changes, k.first_day, c.in_cohort
FROM kinds AS k
JOIN ends AS e USING (period_end, customer, currency)
JOIN cohort AS c USING (period_end, customer)

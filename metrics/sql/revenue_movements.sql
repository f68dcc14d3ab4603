-- The labelled changes of `mrr_customer_changes` summed per period of a grain, with who the
-- customer is: the rows behind the Revenue page's movements chart, its table and its drill-down.
-- Grain: one row per (period, customer, currency, kind) with a change of that kind in the period.
-- Periods: days, ISO weeks (Monday to Sunday), calendar months, or with $grain = 'range' the one
-- period [$start, $as_of]; each is cut to [$start, $as_of] (the first starts on $start, the last
-- ends on $as_of), as `sql/mrr_period_movements.sql` cuts its months.
-- Reads the layer `mrr_customer_changes` (its days are already in [$start, $as_of]) and the
-- table `customers`. Parameters: $start, $as_of (DATE), $grain ('day' | 'week' | 'month' |
-- 'range'), $currency and $kind ('' for every currency, every kind).
WITH

-- Each change with the first day of its (uncut) period.
placed AS (
    SELECT *,
        CASE $grain
            WHEN 'day' THEN day
            WHEN 'week' THEN CAST(date_trunc('week', day) AS DATE)
            WHEN 'month' THEN CAST(date_trunc('month', day) AS DATE)
            ELSE CAST($start AS DATE)
        END AS opens
    FROM mrr_customer_changes
    WHERE $currency = '' OR currency = $currency
),

-- The period cut to the range: it ends on its last day or on $as_of, whichever comes first.
cut AS (
    SELECT *,
        GREATEST(opens, CAST($start AS DATE)) AS period_start,
        LEAST(
            CASE $grain
                WHEN 'day' THEN opens
                WHEN 'week' THEN CAST(opens + INTERVAL 6 DAY AS DATE)
                WHEN 'month' THEN CAST(last_day(opens) AS DATE)
                ELSE CAST($as_of AS DATE)
            END,
            CAST($as_of AS DATE)
        ) AS period_end
    FROM placed
),

-- Per (period, customer, currency): its MRR before its first change and after its last, so the
-- drill-down can say where a customer went from and to, whatever kinds it moved by.
levels AS (
    SELECT period_end, customer, currency,
        arg_min(before_mrr_minor, day) AS start_mrr_minor,
        arg_max(after_mrr_minor, day) AS end_mrr_minor
    FROM cut
    GROUP BY ALL
)

SELECT c.period_start, c.period_end, c.customer, k.name, k.email, c.currency, c.kind,
    CAST(SUM(c.amount_minor) AS DOUBLE) AS amount_minor, COUNT(*) AS changes,
    MIN(c.day) AS first_day,
    CAST(ANY_VALUE(l.start_mrr_minor) AS DOUBLE) AS start_mrr_minor,
    CAST(ANY_VALUE(l.end_mrr_minor) AS DOUBLE) AS end_mrr_minor
FROM cut AS c
JOIN levels AS l USING (period_end, customer, currency)
LEFT JOIN customers AS k ON k.id = c.customer
WHERE $kind = '' OR c.kind = $kind
GROUP BY c.period_start, c.period_end, c.customer, k.name, k.email, c.currency, c.kind
ORDER BY c.period_end, c.kind, amount_minor DESC, c.customer

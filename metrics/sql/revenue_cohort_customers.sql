-- The customers behind one cell of the cohort retention grid: a signup month's customers (in one
-- currency or all) and what each pays at the end of month $months_since.
-- Grain: one row per customer of the cohort.
-- Signups as `sql/cohort_retention.sql` has them: a customer's first `new` change (its day and
-- currency; the first currency by name if it started in two that day), so these rows add up to
-- that query's cell exactly (tested). Month k ends on the last day of the cohort month + k, or
-- at $as_of if that comes first.
-- Reads the layer `mrr_customer_changes` (from $start, the first day of history) and the table
-- `customers`. Parameters: $start, $as_of, $cohort (DATE; the month's first day),
-- $months_since (INTEGER), $currency ('' for every currency).
WITH

signups AS (
    SELECT customer, earliest.day AS signup_day, earliest.currency AS currency,
        CAST(date_trunc('month', earliest.day) AS DATE) AS cohort
    FROM (
        SELECT customer, MIN({'day': day, 'currency': currency}) AS earliest
        FROM mrr_customer_changes
        WHERE kind = 'new'
        GROUP BY customer
    )
),

-- The cell's customers and the last day of its month.
cell AS (
    SELECT *,
        LEAST(CAST(last_day(cohort + to_months(CAST($months_since AS INTEGER))) AS DATE),
              CAST($as_of AS DATE)) AS month_end
    FROM signups
    WHERE cohort = CAST($cohort AS DATE) AND ($currency = '' OR currency = $currency)
),

-- Each customer's MRR in its signup currency on its signup day and at the month's end (after
-- its last change on or before it).
levels AS (
    SELECT c.customer, c.currency, c.signup_day, c.month_end,
        MAX(m.after_mrr_minor) FILTER (WHERE m.day = c.signup_day) AS base_mrr_minor,
        arg_max(m.after_mrr_minor, m.day) FILTER (WHERE m.day <= c.month_end) AS mrr_minor,
        MAX(m.day) FILTER (WHERE m.day <= c.month_end) AS last_change
    FROM cell AS c
    JOIN mrr_customer_changes AS m ON m.customer = c.customer AND m.currency = c.currency
    GROUP BY ALL
)

SELECT l.customer, k.name, k.email, l.currency, l.signup_day, l.month_end,
    CAST(l.base_mrr_minor AS DOUBLE) AS base_mrr_minor, CAST(l.mrr_minor AS DOUBLE) AS mrr_minor,
    l.mrr_minor > 0 AS retained, l.last_change
FROM levels AS l
LEFT JOIN customers AS k ON k.id = l.customer
ORDER BY l.mrr_minor DESC, l.customer

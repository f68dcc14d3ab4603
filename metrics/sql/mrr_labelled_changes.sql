-- Stored labelled changes: every change of a customer's net MRR in a currency over the whole
-- history, labelled when it happens against the MRR just before it, per combination of the MRR
-- settings. Built once per sync by `metrics.refresh` into the table `mrr_labelled_changes`; the
-- layer `mrr_customer_changes` picks the rows of its settings and days when it is read.
-- Grain: one row per (combination, customer, currency, day) on which the customer's net MRR in
-- that currency differs from the day before (changes on one day net to one change, so a swap of
-- one subscription for another on the same day is one movement, or none); each customer under
-- the combinations of the settings it depends on, NULL in a setting's column meaning "either
-- value" (`mrr_variant_segments.sql`).
-- Reads the table `mrr_variant_segments` (the paying segments per combination, built just
-- before). Parameters: none (every day of history).
--
-- A row at day d depends only on the segments starting or ending by d, so the rows up to any
-- $as_of are those a query at $as_of would compute: nothing stored depends on the day read at.
--
-- Kinds, per customer (ChartMogul's rule; a customer with several subscriptions or currencies
-- moves as one): 0 → x in a currency is `new` on the customer's first paid day, `reactivation` when
-- it paid on an earlier day in any currency and nothing just before, `expansion` when it still paid
-- in another currency; x → 0 is `churn` when the customer pays nothing after it, else
-- `contraction`; otherwise up is `expansion`, down `contraction`. So new, reactivation and churn
-- are exactly the starts and ends of the customer's paid spells (`mrr_paid_spells.sql`).
WITH

-- Each paying segment adds its MRR on its first day and takes it off on its end day; an open
-- segment's end, 9999-12-31, is left out (a step changes no earlier day, and no query reads that
-- day: the layers read up to $as_of + 1 day). Exact decimals, so a customer who stops paying is
-- back at exactly 0.
steps AS (
    SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, several, currency,
        from_day AS day, CAST(net_mrr_minor AS DECIMAL(38, 14)) AS delta, 1 AS paying
    FROM mrr_variant_segments
    UNION ALL
    SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, several, currency,
        to_day, -CAST(net_mrr_minor AS DECIMAL(38, 14)), -1
    FROM mrr_variant_segments
    WHERE to_day < DATE '9999-12-31'
),

-- One row per (combination, customer, currency, day): what the day changed, in MRR and in paying
-- segments.
per_day AS (
    SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, currency, day,
        any_value(several) AS several, SUM(delta) AS delta, SUM(paying) AS paying
    FROM steps
    GROUP BY subtract_repeating, subtract_once, churn_at_period_end, customer, currency, day
),

-- Running sums over the customer's days give the level after each day in this currency, and the
-- paying segments before and after the day, in this currency and (all currencies') for the
-- whole customer; its first paid day is its earliest step. A customer with MRR in one currency
-- is its own whole (partitioned by customer alone), so only customers in several currencies are
-- sorted a second time.
levels AS (
    SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, currency, day, delta,
        SUM(delta) OVER own AS after_mrr,
        SUM(paying) OVER own - paying AS own_before,
        SUM(paying) OVER own AS own_after,
        SUM(paying) OVER own AS customer_after,
        SUM(paying) OVER own - paying AS customer_before,
        MIN(day) OVER own AS first_day
    FROM per_day
    WHERE NOT several
    WINDOW own AS (
        PARTITION BY subtract_repeating, subtract_once, churn_at_period_end, customer
        ORDER BY day)
    UNION ALL
    SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, currency, day, delta,
        SUM(delta) OVER own AS after_mrr,
        SUM(paying) OVER own - paying AS own_before,
        SUM(paying) OVER own AS own_after,
        SUM(paying) OVER whole AS customer_after,
        COALESCE(SUM(paying) OVER (
            whole RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 DAY PRECEDING), 0)
            AS customer_before,
        MIN(day) OVER whole AS first_day
    FROM per_day
    WHERE several
    WINDOW own AS (
            PARTITION BY subtract_repeating, subtract_once, churn_at_period_end, customer, currency
            ORDER BY day),
        whole AS (
            PARTITION BY subtract_repeating, subtract_once, churn_at_period_end, customer
            ORDER BY day)
),

-- Whether the customer paid in another currency just before and just after the day.
placed AS (
    SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, currency, day, delta,
        after_mrr, after_mrr - delta AS before_mrr,
        customer_before > 0 AS customer_paying_before,
        customer_before - own_before > 0 AS others_before,
        customer_after - own_after > 0 AS others_after,
        first_day
    FROM levels
    WHERE delta <> 0
)

-- Amounts stay exact decimals, so the sums over them are exact too (DOUBLE when read out).
SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, currency, day,
    before_mrr AS before_mrr_minor, after_mrr AS after_mrr_minor, delta AS change_minor,
    CASE WHEN before_mrr = 0 THEN (CASE WHEN others_before THEN 'expansion'
                                        WHEN day > first_day THEN 'reactivation'
                                        ELSE 'new' END)
         WHEN after_mrr = 0 THEN (CASE WHEN others_after THEN 'contraction' ELSE 'churn' END)
         WHEN delta > 0 THEN 'expansion'
         ELSE 'contraction' END AS kind,
    customer_paying_before
FROM placed

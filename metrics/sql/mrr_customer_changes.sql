-- Every change of a customer's net MRR in a currency, labelled when it happens against the MRR just
-- before it: the one definition of the movements, which the monthly movements, revenue churn,
-- NRR/GRR, cohorts and the drill-down all sum.
-- Grain: one row per (customer, currency, day) in [$start, $as_of] on which the customer's net MRR
-- in that currency differs from the day before (changes on one day net to one change, so a swap
-- of one subscription for another on the same day is one movement, or none).
-- Reads the layer `mrr_subscription_segments`. Parameters: $start, $as_of (DATE).
--
-- Kinds, per customer (ChartMogul's rule; a customer with several subscriptions or currencies
-- moves as one): 0 → x in a currency is `new` on the customer's first paid day, `reactivation` when
-- it paid on an earlier day in any currency and nothing just before, `expansion` when it still paid
-- in another currency; x → 0 is `churn` when the customer pays nothing after it, else
-- `contraction`; otherwise up is `expansion`, down `contraction`. So new, reactivation and churn
-- are exactly the starts and ends of the customer's paid spells (`customer_spells.sql`).
WITH

-- Each paying segment adds its MRR on its first day and takes it off on its end day (an end after
-- $as_of is not seen yet). Exact decimals, so a customer who stops paying is back at exactly 0.
steps AS (
    SELECT customer, currency, from_day AS day,
        CAST(net_mrr_minor AS DECIMAL(38, 14)) AS delta, 1 AS paying
    FROM mrr_subscription_segments
    WHERE net_mrr_minor > 0
    UNION ALL
    SELECT customer, currency, to_day, -CAST(net_mrr_minor AS DECIMAL(38, 14)), -1
    FROM mrr_subscription_segments
    WHERE net_mrr_minor > 0 AND to_day <= CAST($as_of AS DATE)
),

-- One row per (customer, currency, day): what the day changed, in MRR and in paying segments.
per_day AS (
    SELECT customer, currency, day, SUM(delta) AS delta, SUM(paying) AS paying
    FROM steps
    GROUP BY ALL
),

-- Running sums over the customer's days give the level after each day, in this currency and (all
-- currencies' paying segments, the day's rows included) for the whole customer; its first paid day
-- is its earliest step.
levels AS (
    SELECT customer, currency, day, delta,
        SUM(delta) OVER (PARTITION BY customer, currency ORDER BY day) AS after_mrr,
        SUM(paying) OVER (PARTITION BY customer, currency ORDER BY day) - paying AS own_before,
        SUM(paying) OVER (PARTITION BY customer, currency ORDER BY day) AS own_after,
        SUM(paying) OVER (PARTITION BY customer ORDER BY day) AS customer_after,
        SUM(paying) OVER (PARTITION BY customer, day) AS customer_day,
        MIN(day) OVER (PARTITION BY customer) AS first_day
    FROM per_day
),

-- Whether the customer paid in another currency just before and just after the day.
placed AS (
    SELECT customer, currency, day, delta, after_mrr, after_mrr - delta AS before_mrr,
        customer_after - customer_day > 0 AS customer_paying_before,
        customer_after - customer_day - own_before > 0 AS others_before,
        customer_after - own_after > 0 AS others_after,
        first_day
    FROM levels
    WHERE delta <> 0 AND day >= CAST($start AS DATE) AND day <= CAST($as_of AS DATE)
)

-- Amounts stay exact decimals, so the sums over them are exact too (DOUBLE when read out).
SELECT customer, currency, day, before_mrr AS before_mrr_minor, after_mrr AS after_mrr_minor,
    delta AS change_minor, abs(delta) AS amount_minor,
    CASE WHEN before_mrr = 0 THEN (CASE WHEN others_before THEN 'expansion'
                                        WHEN day > first_day THEN 'reactivation'
                                        ELSE 'new' END)
         WHEN after_mrr = 0 THEN (CASE WHEN others_after THEN 'contraction' ELSE 'churn' END)
         WHEN delta > 0 THEN 'expansion'
         ELSE 'contraction' END AS kind,
    customer_paying_before
FROM placed

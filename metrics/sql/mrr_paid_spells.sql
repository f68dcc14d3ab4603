-- Stored paid spells: each customer's runs of consecutive days with net MRR above 0 (in any
-- currency) over the whole history, merged from its subscriptions' segments, per combination of
-- the MRR settings. Built once per sync by `metrics.refresh` into the table `mrr_paid_spells`;
-- the layer `customer_spells` cuts them to its days and picks the rows of its settings.
-- Grain: one row per (combination, customer, spell), each customer under the combinations of the
-- settings it depends on, NULL in a setting's column meaning "either value"
-- (`mrr_variant_segments.sql`). `to_day` is the first day after the spell (9999-12-31 while it
-- lasts); `spell` numbers them 1, 2, … in time order.
-- Reads the table `mrr_variant_segments` (the paying segments per combination, built just
-- before). Parameters: none (every day of history).
--
-- Cutting spells to a window gives the spells of the segments cut to it: a run of days cut to a
-- range of days is one run or none, and cutting opens no gap and closes none.
WITH

-- A segment starting after every earlier one of the customer ended (not on the day one ended:
-- that continues the run) opens a spell.
opened AS (
    SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, from_day, to_day,
        CASE WHEN from_day <= MAX(to_day) OVER (
            PARTITION BY subtract_repeating, subtract_once, churn_at_period_end, customer
            ORDER BY from_day, to_day
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS opens
    FROM mrr_variant_segments
),

numbered AS (
    SELECT subtract_repeating, subtract_once, churn_at_period_end, customer, from_day, to_day,
        CAST(SUM(opens) OVER (
            PARTITION BY subtract_repeating, subtract_once, churn_at_period_end, customer
            ORDER BY from_day, to_day) AS BIGINT) AS island
    FROM opened
)

-- the customer's first segment always opens, so islands are numbered 1, 2, … in time order
SELECT subtract_repeating, subtract_once, churn_at_period_end, customer,
    MIN(from_day) AS first_day, MAX(to_day) AS to_day, island AS spell
FROM numbered
GROUP BY subtract_repeating, subtract_once, churn_at_period_end, customer, island

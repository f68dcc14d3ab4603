-- Each customer's paid spells: runs of consecutive days in [$start, $as_of] with net MRR above 0
-- (in any currency), merged from its subscriptions' segments.
-- Grain: one row per (customer, spell). A spell with last_day < $as_of ended (the customer
-- churned the day after); spell > 1 is a return (reactivation) when $start is early enough to see
-- the earlier spells.
-- Reads the stored table `mrr_paid_spells` (`sql/mrr_paid_spells.sql`, built by `metrics.refresh`
-- before each snapshot is published: the spells over the whole history, each customer's once
-- per combination of the settings it depends on, NULL in a setting's column meaning "either
-- value"), cut here to the window. Parameters: $start, $as_of (DATE), $subtract_repeating,
-- $subtract_once, $churn_at_period_end (BOOLEAN).
WITH

-- The spells under these settings.
kept AS (
    SELECT customer, first_day, to_day, spell
    FROM mrr_paid_spells
    WHERE COALESCE(subtract_repeating = $subtract_repeating, TRUE)
      AND COALESCE(subtract_once = $subtract_once, TRUE)
      AND COALESCE(churn_at_period_end = $churn_at_period_end, TRUE)
),

-- Spells over before $start are not seen, so the first one seen is number 1.
unseen AS (
    SELECT customer, COUNT(*) AS spells
    FROM kept
    WHERE to_day <= CAST($start AS DATE)
    GROUP BY customer
)

SELECT k.customer, GREATEST(k.first_day, CAST($start AS DATE)) AS first_day,
    CAST(LEAST(k.to_day, CAST(CAST($as_of AS DATE) + INTERVAL 1 DAY AS DATE)) - 1 AS DATE)
        AS last_day,
    k.spell - COALESCE(u.spells, 0) AS spell
FROM kept AS k
LEFT JOIN unseen AS u ON u.customer IS NOT DISTINCT FROM k.customer
WHERE k.first_day <= CAST($as_of AS DATE) AND k.to_day > CAST($start AS DATE)

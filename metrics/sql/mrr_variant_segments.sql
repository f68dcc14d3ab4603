-- The paying subscription segments of one combination of the MRR settings, for the customers
-- whose MRR that combination decides: what the stored labelled changes and paid spells are built
-- from (`mrr_labelled_changes.sql`, `mrr_paid_spells.sql`). `metrics.refresh` runs it once per
-- combination into a temporary table of that name, read by both and then dropped.
-- Grain: one row per (combination, subscription, segment) with net MRR above 0, every segment of
-- the history (run with $as_of = 9999-12-31); `several`: the customer has MRR in more than one
-- currency.
-- Reads the layer `mrr_subscription_segments` and the table `mrr_customer_settings` (built just
-- before). Parameters: $as_of (DATE), $subtract_repeating, $subtract_once, $churn_at_period_end
-- (BOOLEAN): the combination.
--
-- Why not all eight combinations for every customer: a customer's segments depend on a setting
-- only when one of its subscription pieces does (`mrr_customer_settings.sql`). For the others
-- the run with that setting off stands for both values, and its rows carry NULL in the setting's
-- column ("either value"). So each customer is here once per combination of the settings it
-- depends on: on `large` 1.5 times, not 8.
WITH

-- The customers this combination decides: each setting is one the customer depends on, or off.
decided AS (
    SELECT customer, several,
        CASE WHEN on_repeating THEN $subtract_repeating END AS subtract_repeating,
        CASE WHEN on_once THEN $subtract_once END AS subtract_once,
        CASE WHEN on_period_end THEN $churn_at_period_end END AS churn_at_period_end
    FROM mrr_customer_settings
    WHERE (on_repeating OR NOT $subtract_repeating) AND (on_once OR NOT $subtract_once)
      AND (on_period_end OR NOT $churn_at_period_end)
)

SELECT d.subtract_repeating, d.subtract_once, d.churn_at_period_end, s.customer, d.several,
    s.currency, s.from_day, s.to_day, s.net_mrr_minor
FROM mrr_subscription_segments AS s
JOIN decided AS d ON d.customer IS NOT DISTINCT FROM s.customer
WHERE s.net_mrr_minor > 0

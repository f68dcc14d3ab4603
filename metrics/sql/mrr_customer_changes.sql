-- Every change of a customer's net MRR in a currency, labelled when it happens against the MRR just
-- before it: the one definition of the movements, which the monthly movements, revenue churn,
-- NRR/GRR, cohorts and the drill-down all sum.
-- Grain: one row per (customer, currency, day) in [$start, $as_of] on which the customer's net MRR
-- in that currency differs from the day before (changes on one day net to one change, so a swap
-- of one subscription for another on the same day is one movement, or none).
-- Reads the stored table `mrr_labelled_changes` (`sql/mrr_labelled_changes.sql`, built by
-- `metrics.refresh` before each snapshot is published: the changes over the whole history, how
-- they are labelled, and why a day's rows do not depend on $as_of), which holds each customer's
-- changes once per combination of the settings they depend on, NULL in a setting's column
-- meaning "either value"; the settings pick their rows with a filter. Parameters: $start, $as_of
-- (DATE), $subtract_repeating, $subtract_once, $churn_at_period_end (BOOLEAN).
SELECT customer, currency, day, before_mrr_minor, after_mrr_minor, change_minor,
    abs(change_minor) AS amount_minor, kind, customer_paying_before
FROM mrr_labelled_changes
WHERE day >= CAST($start AS DATE) AND day <= CAST($as_of AS DATE)
  AND COALESCE(subtract_repeating = $subtract_repeating, TRUE)
  AND COALESCE(subtract_once = $subtract_once, TRUE)
  AND COALESCE(churn_at_period_end = $churn_at_period_end, TRUE)

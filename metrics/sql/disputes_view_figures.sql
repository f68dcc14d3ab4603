-- The Disputes page's counts over the layers `disputes_view_rows` and `disputes_view_reference`:
-- open, due soon and past due at the reference time; new, on charges of the window, won and lost
-- over ($since, $as_of].
-- Grain: one row. Parameters: $since, $as_of (DATE), $currency (VARCHAR; '' for every currency).
--
-- Dispute rate by dispute date: disputes opened in the window ÷ succeeded charges created in it
-- (metrics.disputes' rate). By charge date: disputes so far on the charges created in the window
-- ÷ those charges, which does not move with the weeks a cardholder takes to dispute. Every such
-- dispute was opened after its charge, so inside the window too: the rows hold them all.
WITH

charged AS (
    SELECT COUNT(*) AS succeeded_charges
    FROM charges
    WHERE status = 'succeeded'
      AND created >= CAST($since AS DATE) + INTERVAL 1 DAY
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
      AND ($currency = '' OR currency = $currency)
)

SELECT
    COUNT(*) FILTER (WHERE is_open) AS open,
    COUNT(*) FILTER (WHERE due_within_72h) AS due_within_72h,
    COUNT(*) FILTER (WHERE past_due) AS past_due,
    COUNT(*) FILTER (WHERE opened_in_range) AS new,
    COUNT(*) FILTER (WHERE opened_in_range
                       AND charge_created >= CAST($since AS DATE) + INTERVAL 1 DAY)
        AS charge_disputes,
    -- win rate as metrics.disputes': of the window's disputes, those closed by the end of $as_of
    COUNT(*) FILTER (WHERE opened_in_range AND NOT is_open AND status = 'won') AS won,
    COUNT(*) FILTER (WHERE opened_in_range AND NOT is_open AND status = 'lost') AS lost,
    ANY_VALUE(charged.succeeded_charges) AS succeeded_charges,
    ANY_VALUE(reference.at) AS reference_at
FROM charged
CROSS JOIN disputes_view_reference AS reference
LEFT JOIN disputes_view_rows ON TRUE

-- The payment attempts of the weekly review's two weeks, counted per card, amount band and
-- decline code: the input of its failure breakdowns and of the success-rate decomposition.
-- Reads the layer `payment_attempts` (raw, over [$start, $as_of]: the Monday of the previous week
-- to the Sunday of the reviewed one). Grain: one row per (week, card brand, card country, amount
-- band, currency, decline code, outcome). Parameters: those of `payment_attempts`, and
-- $week_start (DATE, the reviewed week's Monday).
--
-- The decline code is the alert driver's (signal_attempts.sql): the issuer's reason when Stripe
-- gives one, else the network's code, else the failure code; '' for a success, whose
-- outcome.reason may be elevated_risk_level, which is no decline. A missing card field is ''.
SELECT
    day >= CAST($week_start AS DATE) AS this_week,
    COALESCE(card_brand, '') AS card_brand,
    COALESCE(card_country, '') AS card_country,
    amount_band,
    currency,
    CASE WHEN succeeded THEN ''
         ELSE COALESCE(outcome_reason, network_decline_code, failure_code, '')
    END AS decline,
    succeeded,
    COUNT(*) AS attempted,
    SUM(amount) AS amount_minor
FROM payment_attempts
GROUP BY ALL
ORDER BY ALL

-- Attempts and declined volume per value of each dimension the Payments page breaks declines
-- down by, per currency (the page converts, or shows one currency). Grain: one row per
-- (dimension, value, currency). Reads the layer `payments_view_attempts` (the window's attempts).
--
-- `decline` is the alert engine's code (see payments_view_attempts.sql); outcome_reason is
-- kept beside it because on a success it can hold Radar's elevated_risk_level. A value is NULL
-- where the attempt has none (a success has no failure code).
WITH

-- Every dimension in one pass: GROUPING SETS gives each (dimension, currency) its rows.
grouped AS (
    SELECT
        CASE
            WHEN GROUPING(decline) = 0 THEN 'decline'
            WHEN GROUPING(failure_code) = 0 THEN 'failure_code'
            WHEN GROUPING(outcome_type) = 0 THEN 'outcome_type'
            WHEN GROUPING(outcome_reason) = 0 THEN 'outcome_reason'
            WHEN GROUPING(network_decline_code) = 0 THEN 'network_decline_code'
            WHEN GROUPING(card_brand) = 0 THEN 'card_brand'
            WHEN GROUPING(card_country) = 0 THEN 'card_country'
            WHEN GROUPING(card_funding) = 0 THEN 'card_funding'
            ELSE 'amount_band'
        END AS dimension,
        CASE
            WHEN GROUPING(decline) = 0 THEN NULLIF(decline, '')
            WHEN GROUPING(failure_code) = 0 THEN failure_code
            WHEN GROUPING(outcome_type) = 0 THEN outcome_type
            WHEN GROUPING(outcome_reason) = 0 THEN outcome_reason
            WHEN GROUPING(network_decline_code) = 0 THEN network_decline_code
            WHEN GROUPING(card_brand) = 0 THEN card_brand
            WHEN GROUPING(card_country) = 0 THEN card_country
            WHEN GROUPING(card_funding) = 0 THEN card_funding
            ELSE amount_band
        END AS value,
        currency,
        COUNT(*) AS attempted,
        COUNT(*) FILTER (WHERE succeeded) AS succeeded,
        COUNT(*) FILTER (WHERE declined) AS declined,
        COALESCE(SUM(amount) FILTER (WHERE declined), 0) AS declined_minor
    FROM payments_view_attempts
    GROUP BY GROUPING SETS (
        (decline, currency), (failure_code, currency), (outcome_type, currency),
        (outcome_reason, currency), (network_decline_code, currency), (card_brand, currency),
        (card_country, currency), (card_funding, currency), (amount_band, currency)
    )
)

SELECT * FROM grouped

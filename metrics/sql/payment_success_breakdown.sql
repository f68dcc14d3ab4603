-- Payment success over the `payment_attempts` layer, broken down by one dimension at a time.
-- Grain: one row per (dimension, value); amount bands per (currency, band), since a band in one
-- currency's major unit says nothing about another's. Parameters: those of `payment_attempts`.
WITH

-- Every dimension in one pass: GROUPING SETS gives each its own rows.
grouped AS (
    SELECT
        CASE
            WHEN GROUPING(card_brand) = 0 THEN 'card_brand'
            WHEN GROUPING(card_country) = 0 THEN 'card_country'
            WHEN GROUPING(outcome_type) = 0 THEN 'outcome_type'
            WHEN GROUPING(outcome_reason) = 0 THEN 'outcome_reason'
            WHEN GROUPING(failure_code) = 0 THEN 'failure_code'
            WHEN GROUPING(network_decline_code) = 0 THEN 'network_decline_code'
            ELSE 'amount_band'
        END AS dimension,
        CASE WHEN GROUPING(amount_band) = 0 THEN currency END AS currency,
        COALESCE(
            card_brand, card_country, outcome_type, outcome_reason, failure_code,
            network_decline_code, amount_band
        ) AS value,
        COUNT(*) AS attempted,
        COUNT(*) FILTER (WHERE succeeded) AS succeeded,
        COUNT(*) FILTER (WHERE NOT succeeded) AS failed
    FROM payment_attempts
    GROUP BY GROUPING SETS (
        (card_brand), (card_country), (outcome_type), (outcome_reason), (failure_code),
        (network_decline_code), (currency, amount_band)
    )
),

-- Failures of the whole window, so each value's share of them can be shown beside its rate.
all_failed AS (
    SELECT COUNT(*) FILTER (WHERE NOT succeeded) AS window_failed FROM payment_attempts
)

SELECT
    dimension,
    currency,
    value,
    attempted,
    succeeded,
    failed,
    CAST(succeeded AS DOUBLE) / attempted AS success_rate,
    CAST(failed AS DOUBLE) / NULLIF(window_failed, 0) AS failure_share
FROM grouped, all_failed

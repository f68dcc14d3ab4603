-- The values the Payments page's card filters offer: every brand, country, funding and decline
-- code on the account's attempts by the end of $as_of (by default any day, so that a link from
-- an alert always finds its value). Grain: one row per (filter, value). Parameters: $as_of.
WITH

tried AS (
    SELECT
        card_brand,
        card_country,
        card_funding,
        -- the alert engine's decline code (sql/signal_attempts.sql); none on a success
        CASE WHEN status = 'succeeded' THEN NULL
             ELSE COALESCE(outcome_reason, network_decline_code, failure_code)
        END AS decline
    FROM charges
    WHERE status IN ('succeeded', 'failed') AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
)

SELECT DISTINCT 'brand' AS filter, card_brand AS value FROM tried WHERE card_brand IS NOT NULL
UNION
SELECT DISTINCT 'country', card_country FROM tried WHERE card_country IS NOT NULL
UNION
SELECT DISTINCT 'funding', card_funding FROM tried WHERE card_funding IS NOT NULL
UNION
SELECT DISTINCT 'decline', decline FROM tried WHERE decline IS NOT NULL
ORDER BY filter, value

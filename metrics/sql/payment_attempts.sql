-- Payment attempts whose first try falls on a day in [$start, $as_of], raw or deduplicated.
-- Grain: one row per charge ($dedup false) or per PaymentIntent ($dedup true); a charge without a
-- PaymentIntent is its own attempt either way. Parameters: $start, $as_of (DATE), $dedup (BOOL),
-- $zero_decimal and $three_decimal (comma-separated currency codes, from metrics.money).
--
-- Deduplicated, a PaymentIntent counts once, on the day of its first charge, with the outcome
-- of its last charge created before the end of $as_of: a failed try followed by a successful
-- retry is one success, a PaymentIntent that never succeeded one failure. Its card, amount and
-- decline fields are those of that last charge.
WITH

-- Only charges with an outcome are attempts; a pending charge has not succeeded or failed yet.
charges_tried AS NOT MATERIALIZED (  -- read three times, each with its own filter
    SELECT
        id,
        created,
        COALESCE(payment_intent, id) AS attempt_key,
        status = 'succeeded' AS succeeded,
        amount,
        currency,
        card_brand,
        card_country,
        outcome_type,
        outcome_reason,
        failure_code,
        network_decline_code
    FROM charges
    WHERE status IN ('succeeded', 'failed')
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

-- Raw: every charge in the window is an attempt.
raw_attempts AS (
    SELECT * EXCLUDE (created), created AS first_created
    FROM charges_tried
    WHERE NOT $dedup AND created >= CAST($start AS DATE)
),

-- Deduplicated: PaymentIntents with a charge in the window, then all their charges up to as_of.
-- PaymentIntents first tried before the window are not the window's: their keys.
tried_before AS (
    SELECT DISTINCT attempt_key
    FROM charges_tried
    WHERE $dedup AND created < CAST($start AS DATE)
      AND attempt_key IN (SELECT attempt_key FROM charges_tried
                          WHERE $dedup AND created >= CAST($start AS DATE))
),

-- The others: every charge of theirs is in the window.
per_intent AS (
    SELECT
        attempt_key,
        MIN(created) AS first_created,
        arg_max(
            {'id': id, 'succeeded': succeeded, 'amount': amount, 'currency': currency,
             'card_brand': card_brand, 'card_country': card_country,
             'outcome_type': outcome_type, 'outcome_reason': outcome_reason,
             'failure_code': failure_code, 'network_decline_code': network_decline_code},
            (created, id)
        ) AS last
    FROM charges_tried
    WHERE $dedup AND created >= CAST($start AS DATE)
      AND attempt_key NOT IN (SELECT attempt_key FROM tried_before)
    GROUP BY attempt_key
),

dedup_attempts AS (
    SELECT
        last.id AS id,
        attempt_key,
        last.succeeded AS succeeded,
        last.amount AS amount,
        last.currency AS currency,
        last.card_brand AS card_brand,
        last.card_country AS card_country,
        last.outcome_type AS outcome_type,
        last.outcome_reason AS outcome_reason,
        last.failure_code AS failure_code,
        last.network_decline_code AS network_decline_code,
        first_created
    FROM per_intent
),

attempts AS (
    SELECT * FROM raw_attempts
    UNION ALL BY NAME
    SELECT * FROM dedup_attempts
),

-- The amount in the currency's major unit: ¥5,000 is 5000, $50.00 is 50.
majored AS (
    SELECT
        *,
        amount / CASE
            WHEN list_contains(string_split($zero_decimal, ','), currency) THEN 1
            WHEN list_contains(string_split($three_decimal, ','), currency) THEN 1000
            ELSE 100
        END AS amount_major
    FROM attempts
)

SELECT
    id AS charge,
    attempt_key,
    first_created AS created,
    CAST(first_created AS DATE) AS day,
    succeeded,
    amount,
    currency,
    card_brand,
    card_country,
    outcome_type,
    outcome_reason,
    failure_code,
    network_decline_code,
    -- Bands in the charge's own major unit (documented in docs/METRICS.md).
    CASE
        WHEN amount_major < 10 THEN '<10'
        WHEN amount_major < 50 THEN '10-50'
        WHEN amount_major < 200 THEN '50-200'
        WHEN amount_major < 1000 THEN '200-1000'
        ELSE '>=1000'
    END AS amount_band
FROM majored

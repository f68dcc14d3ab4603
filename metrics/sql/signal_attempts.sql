-- Payment attempts for the alert signals: raw charges (one attempt per charge, as
-- payment_attempts.sql raw) created in one or more spans of time, each span (start, end].
-- Grain: one row per charge that succeeded or failed (pending charges have no outcome yet).
-- Parameters: $since, $as_of (TIMESTAMP, naive UTC: the outer bounds (since, as_of], which
-- hold every span), $starts, $ends (TIMESTAMP[], the same length: span i is
-- ($starts[i], $ends[i]]; spans must not overlap, or a charge counts once per span).
--
-- Times are minutes, not days: the alert engine evaluates at the account's clock after each
-- sync, and a window such as "the last 3 hours" ends mid-day.
WITH

-- The spans side by side (unnest of two lists of equal length zips them).
spans AS (
    SELECT unnest($starts::TIMESTAMP[]) AS span_start, unnest($ends::TIMESTAMP[]) AS span_end
),

-- Only charges with an outcome are attempts; the outer bounds prune before the span join.
tried AS (
    SELECT
        id,
        created,
        status = 'succeeded' AS succeeded,
        card_brand,
        card_country,
        card_funding,
        outcome_reason,
        network_decline_code,
        failure_code
    FROM charges
    WHERE status IN ('succeeded', 'failed')
      AND created > $since
      AND created <= $as_of
)

SELECT
    tried.id AS charge,
    tried.created,
    tried.succeeded,
    tried.card_brand,
    tried.card_country,
    tried.card_funding,
    -- The decline code: the issuer's reason when Stripe gives one (do_not_honor), else the
    -- network's code (05), else the failure code (card_declined); '' for a success (its
    -- outcome.reason may be elevated_risk_level, which is no decline).
    CASE WHEN tried.succeeded THEN ''
         ELSE COALESCE(tried.outcome_reason, tried.network_decline_code, tried.failure_code, '')
    END AS decline,
    spans.span_end,
    -- How long before its span's end the charge was created, exactly (the bucket arithmetic
    -- of signal_success_buckets.sql stays in integers).
    date_diff('microsecond', tried.created, spans.span_end) AS age_us
FROM tried
JOIN spans ON tried.created > spans.span_start AND tried.created <= spans.span_end

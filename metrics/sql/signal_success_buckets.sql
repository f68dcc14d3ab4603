-- Payment success per bucket of age, over the layer `signal_attempts`.
-- Grain: one row per non-empty bucket. Reads the layer `signal_attempts` (its $since, $as_of,
-- $starts, $ends). Parameters: $origin_us, $parts, $span_us (BIGINT).
--
-- An attempt created `age` before its span's end falls in bucket
-- max(0, floor((age - origin) × parts ÷ span)), all in integer microseconds, so bucket edges
-- are exact. Callers choose the buckets:
--   one total: origin 0, parts 1, span = the window (every age is below it: bucket 0);
--   a trend of P points over a window W: origin 0, parts P, span W (bucket 0 the newest);
--   hour-by-hour widening of a window W: origin W − 1 h, parts 1, span 1 h, so bucket k holds
--   the attempts that a window of W + k hours takes in and a shorter one does not.
SELECT
    greatest(0, (age_us - $origin_us) * $parts // $span_us) AS bucket,
    COUNT(*) AS attempted,
    COUNT(*) FILTER (WHERE succeeded) AS succeeded
FROM signal_attempts
GROUP BY ALL

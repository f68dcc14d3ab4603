-- Card payments of the lookback that failed because the bank asked for 3D Secure and the
-- integration did not handle it. Grain: one row. Parameters: $since, $as_of (DATE).
SELECT
    count(*) FILTER (WHERE status = 'failed') AS failed,
    count(*) FILTER (WHERE status = 'failed'
                       AND 'authentication_required' IN (COALESCE(failure_code, ''),
                           COALESCE(outcome_reason, ''), COALESCE(network_decline_code, '')))
        AS authentication_required
FROM charges
WHERE created >= CAST($since AS DATE) + INTERVAL 1 DAY
  AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY

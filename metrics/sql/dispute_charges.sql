-- Succeeded charges created in the days ($since, $as_of]: the dispute rate's denominator.
-- Grain: one row. Parameters: $since, $as_of (DATE).
SELECT COUNT(*) AS succeeded_charges
FROM charges
WHERE status = 'succeeded'
  AND created >= CAST($since AS DATE) + INTERVAL 1 DAY
  AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY

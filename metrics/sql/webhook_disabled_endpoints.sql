-- Webhook endpoints disabled at the last sync that existed by the end of $as_of.
-- Grain: one row per endpoint. Parameters: $as_of (DATE).
SELECT id AS endpoint, url, created
FROM webhook_endpoints
WHERE status = 'disabled'
  AND NOT deleted
  AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY created, id

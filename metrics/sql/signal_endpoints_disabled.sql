-- Webhook endpoints disabled at the last sync that existed by $as_of (as
-- webhook_disabled_endpoints.sql, with a timestamp bound). Grain: one row per endpoint.
-- Parameters: $as_of (TIMESTAMP, naive UTC).
SELECT id AS endpoint, url, status
FROM webhook_endpoints
WHERE status = 'disabled'
  AND NOT deleted
  AND created <= $as_of
ORDER BY created, id

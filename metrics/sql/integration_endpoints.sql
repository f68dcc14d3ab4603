-- Webhook endpoints listed at the last sync that existed by the end of $as_of, with the events
-- each receives as a list. Grain: one row per endpoint. Parameters: $as_of (DATE).
SELECT
    id AS endpoint,
    url,
    status,
    COALESCE(CAST(enabled_events AS VARCHAR[]), []) AS enabled_events,
    endpoint_version
FROM webhook_endpoints
WHERE NOT deleted
  AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY created, id

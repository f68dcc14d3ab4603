-- Webhook endpoints listed at the last sync that existed by the end of $as_of: status, what
-- each receives, the API version it is sent. Grain: one row per endpoint. Parameters: $as_of
-- (DATE). Disabled ones first: Stripe sends them nothing.
SELECT
    id AS endpoint,
    url,
    status,
    array_to_string(CAST(enabled_events AS VARCHAR[]), ', ') AS enabled_events,
    endpoint_version,
    created
FROM webhook_endpoints
WHERE NOT deleted
  AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
ORDER BY status = 'disabled' DESC, created, id

-- Each webhook endpoint's week: the events of the week it takes, those still awaited, and what
-- is pending for it at the end of the week.
-- Reads the layer `webhook_events` (its $as_of, the reviewed week's Sunday, and $grace_seconds)
-- `webhook_endpoints` and `sync_runs`. Grain: one row per endpoint listed at the last sync that existed by
-- the end of $as_of. Parameters: $as_of (DATE), $week_start (DATE, the week's Monday),
-- $grace_seconds (INT), $persistent_hours (DOUBLE).
--
-- Stripe counts an event's pending deliveries (`pending_webhooks`) but not which endpoints they
-- are for, so an event still awaited is counted for every enabled endpoint that takes its type:
-- `failures`, `persistent` and `pending` are upper bounds where endpoints share event types.
-- A disabled endpoint is sent nothing. An event is "persistent" when it was still awaited
-- $persistent_hours after it was sent, at the last sync (when the pending counts were read).
WITH

-- When the pending counts were read: Stripe's time at the last sync's answer.
observed AS (
    SELECT COALESCE(MAX(account_time), CAST($as_of AS DATE) + INTERVAL 1 DAY) AS at
    FROM sync_runs
),

endpoints AS (
    SELECT id, url, status, CAST(enabled_events AS VARCHAR[]) AS takes, created
    FROM webhook_endpoints
    WHERE NOT deleted
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

-- Which events each enabled endpoint takes: every type (`*`) or the ones it lists.
sent AS (
    SELECT endpoints.id AS endpoint, webhook_events.*
    FROM endpoints
    JOIN webhook_events
      ON list_contains(endpoints.takes, '*') OR list_contains(endpoints.takes, webhook_events.type)
    WHERE endpoints.status = 'enabled'
),

per_endpoint AS (
    SELECT
        endpoint,
        COUNT(*) FILTER (WHERE created >= CAST($week_start AS DATE)) AS deliveries,
        COUNT(*) FILTER (WHERE created >= CAST($week_start AS DATE) AND past_grace
                           AND NOT delivered) AS failures,
        -- still awaited long after it was sent: through hours of Stripe's retries
        COUNT(*) FILTER (WHERE created >= CAST($week_start AS DATE) AND NOT delivered
                           AND date_diff('second', created, observed.at) > $persistent_hours * 3600)
            AS persistent,
        COUNT(*) FILTER (WHERE NOT delivered) AS pending
    FROM sent
    CROSS JOIN observed
    GROUP BY endpoint
)

SELECT
    endpoints.id AS endpoint,
    endpoints.url,
    endpoints.status,
    COALESCE(per_endpoint.deliveries, 0) AS deliveries,
    COALESCE(per_endpoint.failures, 0) AS failures,
    COALESCE(per_endpoint.persistent, 0) AS persistent,
    COALESCE(per_endpoint.pending, 0) AS pending
FROM endpoints
LEFT JOIN per_endpoint ON per_endpoint.endpoint = endpoints.id
ORDER BY endpoints.status = 'disabled' DESC, failures DESC, endpoints.created, endpoints.id

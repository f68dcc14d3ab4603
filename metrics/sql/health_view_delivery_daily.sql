-- Webhook delivery per day of the events' creation over the days ($since, $as_of], every day
-- listed (a quiet day has no rate). Reads the layer `webhook_events` (its $as_of and
-- $grace_seconds). Grain: one row per day. Parameters: $since, $as_of (DATE).
--
-- The definitions are webhook_summary.sql's, split by day: judged = past the grace period at the
-- end of $as_of, delivered = no endpoint still awaits it; the days' judged and delivered sum to
-- the summary's. Stripe keeps events 30 days, so older days have no events to judge.
WITH

days AS (
    SELECT CAST(day AS DATE) AS day
    FROM range(CAST($since AS DATE) + INTERVAL 1 DAY, CAST($as_of AS DATE) + INTERVAL 1 DAY,
               INTERVAL 1 DAY) AS spine(day)
),

per_day AS (
    SELECT
        CAST(created AS DATE) AS day,
        COUNT(*) AS events,
        COUNT(*) FILTER (WHERE past_grace) AS judged,
        COUNT(*) FILTER (WHERE past_grace AND delivered) AS delivered,
        COUNT(*) FILTER (WHERE NOT delivered) AS pending
    FROM webhook_events
    WHERE created >= CAST($since AS DATE) + INTERVAL 1 DAY
    GROUP BY 1
)

SELECT
    days.day,
    COALESCE(per_day.events, 0) AS events,
    COALESCE(per_day.judged, 0) AS judged,
    COALESCE(per_day.delivered, 0) AS delivered,
    COALESCE(per_day.pending, 0) AS pending,
    per_day.delivered / NULLIF(per_day.judged, 0) AS delivery_rate
FROM days
LEFT JOIN per_day USING (day)
ORDER BY days.day

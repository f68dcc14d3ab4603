-- Cancellations customers asked for in the lookback, and those ended at once though the period
-- was paid for (`cancel_at_period_end` would have kept the customer to its end). Grain: one
-- row. Parameters: $since, $as_of (DATE).
WITH

-- The end of each subscription's paid period: its items' latest.
periods AS (
    SELECT subscription, max(current_period_end) AS period_end
    FROM subscription_items
    GROUP BY subscription
),

requested AS (
    SELECT s.id, s.ended_at, COALESCE(s.cancel_at_period_end, FALSE) AS at_period_end,
        p.period_end
    FROM subscriptions AS s
    LEFT JOIN periods AS p ON p.subscription = s.id
    WHERE s.status = 'canceled'
      AND COALESCE(s.cancellation_reason, 'cancellation_requested') = 'cancellation_requested'
      -- a trial cancelled before it converts had no paid period to keep
      AND NOT (s.trial_end IS NOT NULL AND s.ended_at <= s.trial_end)
      AND s.ended_at >= CAST($since AS DATE) + INTERVAL 1 DAY
      AND s.ended_at < CAST($as_of AS DATE) + INTERVAL 1 DAY
)

SELECT
    count(*) AS cancellations,
    count(*) FILTER (WHERE NOT at_period_end AND ended_at < period_end) AS immediate
FROM requested

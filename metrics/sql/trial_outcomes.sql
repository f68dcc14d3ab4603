-- Trials that ended in ($since, $as_of] and what followed them.
-- Grain: one row per ended trial (a trialing status span). Converted: the next status is a
-- paying one (active, or past_due when the first payment failed); anything else (canceled, paused
-- for want of a card, incomplete_expired) did not convert in that period.
-- Parameters: $since, $as_of (DATE).
WITH

spans AS (
    SELECT subscription, status, valid_from, valid_to,
        lead(status) OVER (PARTITION BY subscription ORDER BY valid_from) AS next_status
    FROM subscription_status_history
)

SELECT sp.subscription, s.customer, s.currency, sp.valid_from AS trial_start,
    sp.valid_to AS trial_end, CAST(sp.valid_to AS DATE) AS day, sp.next_status,
    COALESCE(sp.next_status IN ('active', 'past_due'), FALSE) AS converted
FROM spans AS sp
JOIN subscriptions AS s ON s.id = sp.subscription
WHERE sp.status = 'trialing' AND sp.valid_to IS NOT NULL
  AND CAST(sp.valid_to AS DATE) > CAST($since AS DATE)
  AND CAST(sp.valid_to AS DATE) <= CAST($as_of AS DATE)
ORDER BY sp.valid_to, sp.subscription

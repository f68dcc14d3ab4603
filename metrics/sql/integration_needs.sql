-- What the account does, and so which webhook events its integration needs (issue #20).
-- Grain: one row. Parameters: $since, $as_of (DATE): the lookback (since, as_of].
--
-- Charges reach their invoice only through PaymentIntents (not synced), so a one-time payment
-- is told by its description: Stripe describes an invoice's charge "Subscription creation",
-- "Subscription update", "Subscription cycle" or "Payment for Invoice"; any other charge (a
-- Checkout or PaymentIntent payment) is one-time.
WITH

-- Subscriptions alive at some point of the lookback: the account bills recurring.
subscribing AS (
    SELECT count(*) AS subscriptions
    FROM subscriptions
    WHERE created < CAST($as_of AS DATE) + INTERVAL 1 DAY
      AND (ended_at IS NULL OR ended_at >= CAST($since AS DATE) + INTERVAL 1 DAY)
),

-- Charges of the lookback that no invoice made.
one_time AS (
    SELECT count(*) AS one_time_charges
    FROM charges
    WHERE created >= CAST($since AS DATE) + INTERVAL 1 DAY
      AND created < CAST($as_of AS DATE) + INTERVAL 1 DAY
      AND NOT (COALESCE(description, '') LIKE 'Subscription %'
               OR COALESCE(description, '') LIKE 'Payment for Invoice%')
),

-- Any dispute by the end of as_of: disputes happen to this account.
disputing AS (
    SELECT count(*) AS disputes
    FROM disputes
    WHERE created < CAST($as_of AS DATE) + INTERVAL 1 DAY
)

SELECT subscriptions, one_time_charges, disputes
FROM subscribing, one_time, disputing

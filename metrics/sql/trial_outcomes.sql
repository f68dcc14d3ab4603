-- Trials and what followed them, for both trial conversion rates (docs/METRICS.md).
-- Grain: one row per trial (a trialing status span) that ended in ($since, $as_of], or whose
-- subscription first became `active` after it in that window.
-- `ended`: the trial ended in the window. `converted` (paylens): it ended in the window and the
-- next status is a paying one (active, or past_due when the first payment failed); anything else
-- (canceled, paused for want of a card, incomplete_expired) did not convert in that period.
-- `converted_at` (Stripe): when the first invoice after the trial was paid, by the end of $as_of; `stripe_converted`: that moment falls in the window, whenever the trial ended.
-- Parameters: $since, $as_of (DATE).
WITH

spans AS (
    SELECT subscription, status, valid_from, valid_to,
        lead(status) OVER (PARTITION BY subscription ORDER BY valid_from) AS next_status
    FROM subscription_status_history
),

-- Ended trials, each with the start of the subscription's next trial (a conversion after that
-- one belongs to it).
trials AS (
    SELECT subscription, valid_from, valid_to, next_status,
        lead(valid_from) OVER (PARTITION BY subscription ORDER BY valid_from) AS next_trial_from
    FROM spans
    WHERE status = 'trialing' AND valid_to IS NOT NULL
),

-- Stripe: "A trial converts when the full trial period has ended, the subscription has not been
-- canceled, and the first invoice has been paid": the first invoice with something due since the
-- trial began (its own invoice is $0), dated by its payment (a first payment that failed is paid when it
-- recovers; a paused trial's first invoice is its resume). Not the status history: a subscription
-- turns `active` at the trial's end and only then past_due when the payment fails.
first_invoices AS (
    SELECT t.subscription, t.valid_from, i.status, i.paid_at
    FROM trials AS t
    JOIN invoices AS i ON i.subscription = t.subscription AND NOT i.deleted
        AND i.amount_due > 0 AND i.created >= t.valid_from
        AND (t.next_trial_from IS NULL OR i.created < t.next_trial_from)
    QUALIFY row_number() OVER (
        PARTITION BY t.subscription, t.valid_from ORDER BY i.created, i.id) = 1
),

conversions AS (
    SELECT subscription, valid_from, paid_at AS converted_at
    FROM first_invoices
    WHERE status = 'paid' AND paid_at < CAST($as_of AS DATE) + INTERVAL 1 DAY
),

marked AS (
    SELECT t.subscription, t.valid_from, t.valid_to, t.next_status, c.converted_at,
        CAST(t.valid_to AS DATE) > CAST($since AS DATE)
            AND CAST(t.valid_to AS DATE) <= CAST($as_of AS DATE) AS ended,
        COALESCE(CAST(c.converted_at AS DATE) > CAST($since AS DATE), FALSE) AS stripe_converted
    FROM trials AS t
    LEFT JOIN conversions AS c USING (subscription, valid_from)
)

SELECT m.subscription, s.customer, s.currency, m.valid_from AS trial_start,
    m.valid_to AS trial_end, CAST(m.valid_to AS DATE) AS day, m.next_status, m.ended,
    m.ended AND COALESCE(m.next_status IN ('active', 'past_due'), FALSE) AS converted,
    m.converted_at, m.stripe_converted
FROM marked AS m
JOIN subscriptions AS s ON s.id = m.subscription
WHERE m.ended OR m.stripe_converted
ORDER BY m.valid_to, m.subscription

-- Rebuild the history tables from everything the warehouse knows. $now: the sync time.
-- Sources, weakest first: invoice lines and subscription fields (the time before the first
-- sync), observations between syncs, and events (exact times, last 30 days). Each source gives
-- *transitions* (a state from a moment on); the strongest source wins inside the span it covers.

-- 1. Observations: the state this sync sees, recorded when it differs from the last one.
INSERT INTO subscription_observations
SELECT s.id, $now, s.status,
       coalesce((SELECT to_json(list([i.id, i.price, CAST(i.quantity AS VARCHAR)] ORDER BY i.id))
                 FROM subscription_items AS i WHERE i.subscription = s.id), '[]'),
       s.discounts
FROM subscriptions AS s
WHERE NOT EXISTS (
    SELECT 1 FROM subscription_observations AS o
    WHERE o.subscription = s.id
      AND o.observed_at = (SELECT max(observed_at) FROM subscription_observations
                           WHERE subscription = s.id)
      AND o.status = s.status
      AND o.items = coalesce((SELECT to_json(list([i.id, i.price, CAST(i.quantity AS VARCHAR)]
                                              ORDER BY i.id))
                              FROM subscription_items AS i WHERE i.subscription = s.id), '[]')
)
ON CONFLICT DO NOTHING;

-- 2. Status transitions.
CREATE OR REPLACE TEMP TABLE status_transitions AS
WITH
first_seen AS (  -- before this moment only invoices and subscription fields tell the story
    SELECT subscription, min(observed_at) AS moment FROM subscription_observations GROUP BY ALL
),
trial_ends AS (  -- trials that ended before the subscription did
    SELECT s.id AS subscription, s.trial_end,
           -- Stripe pauses a trial that ends without a payment method when the subscription's
           -- trial_settings say so; a converted trial is invoiced (subscription_cycle) at its end
           coalesce(s.raw->>'$.trial_settings.end_behavior.missing_payment_method' = 'pause'
                    AND NOT EXISTS (
                        SELECT 1 FROM invoices AS i
                        WHERE i.subscription = s.id AND i.billing_reason = 'subscription_cycle'
                          AND i.created >= s.trial_end
                          AND i.created < s.trial_end + INTERVAL 1 DAY), FALSE) AS paused,
           -- a paused subscription is invoiced again only when it resumes (a new cycle)
           (SELECT min(i.created) FROM invoices AS i
            WHERE i.subscription = s.id AND i.created > s.trial_end) AS resumed
    FROM subscriptions AS s
    WHERE s.trial_end IS NOT NULL AND s.trial_end > s.created
      AND (s.ended_at IS NULL OR s.trial_end < s.ended_at)
),
derived AS (
    SELECT id AS subscription, created AS moment,
           CASE WHEN trial_start IS NOT NULL THEN 'trialing' ELSE 'active' END AS status, 1 AS rank
    FROM subscriptions
    UNION ALL
    SELECT subscription, trial_end, CASE WHEN paused THEN 'paused' ELSE 'active' END, 1
    FROM trial_ends
    UNION ALL
    SELECT subscription, resumed, 'active', 1 FROM trial_ends WHERE paused
    UNION ALL  -- dunning exhausted, subscription kept `unpaid` (no ended_at): from the last
    -- failed attempt at its open invoice. The invoice has no attempt times and (in current API
    -- versions) no payment_intent, so the attempts are the customer's failed charges of the
    -- invoice's amount since it was created; without charges, past_due runs to the first sync.
    SELECT s.id,
           (SELECT max(c.created) FROM charges AS c
            WHERE c.customer = i.customer AND c.status = 'failed' AND c.amount = i.amount_due
              AND c.currency = i.currency AND c.created >= i.created),
           'unpaid', 1
    FROM subscriptions AS s JOIN invoices AS i ON i.id = s.latest_invoice
    WHERE s.status = 'unpaid' AND s.ended_at IS NULL AND i.status = 'open'
      AND i.attempted AND i.next_payment_attempt IS NULL
    UNION ALL  -- a renewal that needed more than one attempt: past_due until paid
    SELECT i.subscription, i.created, 'past_due', 1 FROM invoices AS i
    WHERE i.subscription IS NOT NULL AND i.attempt_count > 1
      AND i.billing_reason = 'subscription_cycle'
    UNION ALL
    SELECT i.subscription, i.paid_at, 'active', 1 FROM invoices AS i
    WHERE i.subscription IS NOT NULL AND i.attempt_count > 1 AND i.paid_at IS NOT NULL
      AND i.billing_reason = 'subscription_cycle'
    UNION ALL
    SELECT id, ended_at, status, 1 FROM subscriptions WHERE ended_at IS NOT NULL
),
observed AS (
    SELECT subscription, observed_at AS moment, status, 2 AS rank FROM subscription_observations
),
evented AS (  -- previous_attributes.status: the state before; data.object.status: after
    SELECT object_id AS subscription, created AS moment,
           raw->>'$.data.object.status' AS status, 3 AS rank
    FROM events WHERE object_type = 'subscription'
      AND previous_attributes->>'$.status' IS NOT NULL
),
first_event AS (
    SELECT subscription, min(moment) AS moment FROM evented GROUP BY ALL
)
SELECT t.* FROM (
    SELECT * FROM derived UNION ALL SELECT * FROM observed UNION ALL SELECT * FROM evented
) AS t
LEFT JOIN first_seen AS f USING (subscription)
LEFT JOIN first_event AS e USING (subscription)
WHERE t.moment IS NOT NULL
  -- derived transitions only where nothing stronger speaks (coalesce: a subscription with no
  -- status event compares against NULL, and NULL must not drop its whole derived past)
  AND NOT coalesce(t.rank = 1 AND (t.moment >= f.moment OR t.moment >= e.moment), FALSE)
  -- an observation after the first event is later than the event that caused it
  AND NOT coalesce(
      t.rank = 2 AND t.moment >= e.moment AND t.moment > (SELECT min(moment) FROM observed), FALSE
  )
;

DELETE FROM subscription_status_history;
INSERT INTO subscription_status_history
SELECT subscription, status, moment AS valid_from,
       lead(moment) OVER (PARTITION BY subscription ORDER BY moment) AS valid_to, source
FROM (
    SELECT subscription, moment, status, source FROM (
        SELECT subscription, moment, status,
               CASE rank WHEN 1 THEN 'subscription' WHEN 2 THEN 'sync' ELSE 'event' END AS source,
               lag(status) OVER (PARTITION BY subscription ORDER BY moment, rank) AS previous
        FROM (SELECT * FROM status_transitions
              QUALIFY row_number() OVER (PARTITION BY subscription, moment ORDER BY rank DESC) = 1)
    ) WHERE previous IS DISTINCT FROM status
);

-- 3. Item spans: each invoiced period of an item (price, quantity), cut by the next span;
-- the item as it is now from its current period on.
DELETE FROM subscription_item_history;
INSERT INTO subscription_item_history
WITH
spans AS (
    SELECT l.subscription, l.subscription_item, l.price, l.quantity, l.discounts,
           l.period_start AS valid_from, l.period_end AS period_end, 'invoice' AS source
    FROM invoice_lines AS l
    WHERE l.subscription_item IS NOT NULL AND l.price IS NOT NULL AND l.period_start IS NOT NULL
      AND (coalesce(l.proration, FALSE) = FALSE OR l.amount > 0)
    UNION ALL
    SELECT i.subscription, i.id, i.price, i.quantity, i.discounts,
           coalesce(i.current_period_start, i.created), NULL, 'subscription'
    FROM subscription_items AS i
),
latest AS (  -- one span per item and start: the current item beats an invoice line
    SELECT * FROM spans
    QUALIFY row_number() OVER (PARTITION BY subscription_item, valid_from
                               ORDER BY source = 'subscription' DESC) = 1
),
cut AS (
    SELECT *, lead(valid_from) OVER (PARTITION BY subscription_item ORDER BY valid_from) AS next
    FROM latest
),
ended AS (
    SELECT c.*, s.ended_at,
           EXISTS (SELECT 1 FROM subscription_items AS i WHERE i.id = c.subscription_item)
               AS current
    FROM cut AS c LEFT JOIN subscriptions AS s ON s.id = c.subscription
)
SELECT subscription, subscription_item, price, quantity, discounts, valid_from,
       CASE
           WHEN next IS NOT NULL THEN next
           WHEN current THEN ended_at
           ELSE coalesce(period_end, ended_at)
       END AS valid_to,
       source
FROM ended
QUALIFY row_number() OVER (PARTITION BY subscription_item, valid_from) = 1;

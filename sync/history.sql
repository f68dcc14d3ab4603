-- Rebuild the history tables of the subscriptions in `history_scope` (sync/history.py runs it
-- per batch, with the source tables narrowed to the batch). Reads `events_window`
-- (sync/history_observe.sql).
-- Sources, weakest first: invoice lines and subscription fields (the time before the first
-- sync), observations between syncs, and events (exact times, last 30 days). Each source gives
-- *transitions* (a state from a moment on); the strongest source wins inside the span it covers.

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
failed_invoices AS (  -- invoices of a running subscription with a failed payment attempt
    SELECT i.*, s.ended_at,
           -- dunning exhausted: left open, attempted, no next attempt; not when it is the latest
           -- invoice of a subscription still past_due (an account that leaves them past_due)
           i.status = 'open' AND i.next_payment_attempt IS NULL
               AND NOT (s.status = 'past_due' AND s.latest_invoice = i.id) AS exhausted
    FROM invoices AS i JOIN subscriptions AS s ON s.id = i.subscription
    WHERE i.billing_reason <> 'subscription_create' AND i.attempted  -- a first one: incomplete
      AND (i.attempt_count > 1 OR i.status IN ('open', 'uncollectible'))
),
failed_attempts AS (  -- the invoice has no attempt times and (in current API versions) no
    -- payment_intent: its attempts are the failed charges of its customer, amount and currency
    -- from its creation until it was paid or the subscription ended that share the first one's
    -- payment intent
    SELECT f.id AS invoice, c.payment_intent, c.created,
           c.payment_intent IS NOT DISTINCT FROM first_value(c.payment_intent)
               OVER (PARTITION BY f.id ORDER BY c.created) AS same_intent
    FROM failed_invoices AS f
    JOIN charges AS c
      ON c.customer = f.customer AND c.status = 'failed' AND c.amount = f.amount_due
     AND c.currency = f.currency AND c.created >= f.created
     AND c.created <= least(coalesce(f.paid_at, 'infinity'), coalesce(f.ended_at, 'infinity'))
),
dunning AS (  -- past_due from the first failed attempt (the invoice's creation without
    -- charges); unpaid from the last one when dunning was exhausted; active again when the
    -- subscription pays: this invoice or any later one paid (the next renewal may be paid at
    -- once while this one stays open), or this one voided or marked uncollectible without the
    -- subscription ending then
    SELECT f.subscription,
           coalesce((SELECT min(a.created) FROM failed_attempts AS a WHERE a.invoice = f.id),
                    f.created) AS failed,
           CASE WHEN f.exhausted THEN (SELECT max(a.created) FROM failed_attempts AS a
                                       WHERE a.invoice = f.id AND a.same_intent) END AS gave_up,
           nullif(least(coalesce((SELECT min(j.paid_at) FROM invoices AS j
                                  WHERE j.subscription = f.subscription AND j.paid_at > f.created),
                                 'infinity'),
                        coalesce(f.voided_at, 'infinity'), coalesce(f.uncollectible_at, 'infinity'),
                        coalesce(f.ended_at, 'infinity')),
                  coalesce(f.ended_at, 'infinity')) AS recovered
    FROM failed_invoices AS f
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
    UNION ALL
    SELECT subscription, failed, 'past_due', 1 FROM dunning
    UNION ALL
    SELECT subscription, gave_up, 'unpaid', 1 FROM dunning WHERE gave_up IS NOT NULL
    UNION ALL
    SELECT subscription, recovered, 'active', 1 FROM dunning WHERE recovered IS NOT NULL
    UNION ALL
    SELECT id, ended_at, status, 1 FROM subscriptions WHERE ended_at IS NOT NULL
),
observed AS (
    SELECT subscription, observed_at AS moment, status, 2 AS rank FROM subscription_observations
),
window_start AS (  -- the status at the window's start, of a subscription alive then: the one
    -- its first event there had before (a change) or kept (any other update); unknown when
    -- that event is its deletion (which carries no previous_attributes)
    SELECT s.id AS subscription, w.since AS moment,
           (SELECT CASE WHEN e.type = 'customer.subscription.deleted' THEN NULL
                        ELSE coalesce(e.previous_attributes->>'$.status',
                                      e.raw->>'$.data.object.status') END
            FROM events AS e
            WHERE e.object_type = 'subscription' AND e.object_id = s.id AND e.created >= w.since
            ORDER BY e.created, e.previous_attributes->>'$.status' IS NULL, e.id
            LIMIT 1) AS first_event_status,
           EXISTS (SELECT 1 FROM events AS e WHERE e.object_type = 'subscription'
                   AND e.object_id = s.id AND e.created >= w.since) AS has_events,
           (SELECT o.status FROM subscription_observations AS o
            WHERE o.subscription = s.id AND o.observed_at >= w.since
            ORDER BY o.observed_at LIMIT 1) AS first_observed
    FROM subscriptions AS s, events_window AS w
    WHERE w.since IS NOT NULL AND s.created < w.since
      AND (s.ended_at IS NULL OR s.ended_at > w.since)
),
evented AS (  -- previous_attributes.status: the state before; data.object.status: after
    -- (a deletion carries no previous_attributes: it ends the subscription all the same)
    SELECT object_id AS subscription, created AS moment,
           raw->>'$.data.object.status' AS status, 3 AS rank
    FROM events WHERE object_type = 'subscription'
      AND (previous_attributes->>'$.status' IS NOT NULL
           OR type = 'customer.subscription.deleted')
    UNION ALL
    SELECT subscription, moment,
           CASE WHEN has_events THEN first_event_status ELSE first_observed END, 3
    FROM window_start
    WHERE CASE WHEN has_events THEN first_event_status ELSE first_observed END IS NOT NULL
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
      t.rank = 2 AND t.moment >= e.moment
      AND t.moment > (SELECT first_sync FROM events_window), FALSE
  )
;

DELETE FROM subscription_status_history
WHERE subscription IN (SELECT subscription FROM history_scope);
INSERT INTO subscription_status_history
SELECT subscription, status, moment AS valid_from,
       lead(moment) OVER (PARTITION BY subscription ORDER BY moment) AS valid_to, source
FROM (
    SELECT subscription, moment, status, source FROM (
        SELECT subscription, moment, status,
               CASE rank WHEN 1 THEN 'subscription' WHEN 2 THEN 'sync' ELSE 'event' END AS source,
               lag(status) OVER (PARTITION BY subscription ORDER BY moment, rank) AS previous
        FROM (SELECT * FROM status_transitions
              -- the strongest source; between equals, repeatably (by status)
              QUALIFY row_number() OVER (PARTITION BY subscription, moment
                                         ORDER BY rank DESC, status) = 1)
    ) WHERE previous IS DISTINCT FROM status
);

-- Undated changes (one kind of them; the item kinds follow the item history): the status at
-- the window's start (rank 3, `event`) differs from the one the invoices and subscription
-- fields gave before it, so the change happened at a moment no object records.
DELETE FROM undated_changes WHERE subscription IN (SELECT subscription FROM history_scope);
INSERT INTO undated_changes
SELECT h.subscription, '', p.valid_from, h.valid_from, 'window_start', NULL, NULL, NULL, NULL,
       p.status, h.status
FROM subscription_status_history AS h
JOIN subscription_status_history AS p
  ON p.subscription = h.subscription AND p.valid_to = h.valid_from
JOIN events_window AS w ON h.valid_from = w.since
WHERE h.subscription IN (SELECT subscription FROM history_scope) AND h.source = 'event'
  AND p.source <> 'event';

-- 3. Item history. Every source gives item *transitions*: an item's price, quantity and
-- discounts from a moment on, or its absence (price NULL). Sources, weakest first (rank):
--   0 the item as it is now, from its current period start: a guess, only where no line starts;
--   1 invoice lines: each billed period; a positive proration line starts a mid-period change
--     at its period start, a credit line without one ends the item there;
--   2 the whole item set of each sync's observation (and of the window's start, below);
--   3 the whole item set after each subscription event (created, or items changed), exact.
-- Inside the events window every change has its event, so ranks 0 and 1 are dropped there, and
-- the state at the window's start is known: the items before the first change
-- (previous_attributes.items), or the first observation when nothing changed since.
-- Item sets: one row per item of a set known at a moment. `complete`: the set lists every item
-- (an embedded list cut at 10 items with has_more says nothing about the others).
CREATE OR REPLACE TEMP TABLE item_sets AS
WITH
item_events AS (  -- subscription events that show the items or discounts: the new set, and
    -- on an update the old one (the items before, changed or not). Within one second a creation
    -- comes first; `tie` orders what else shares a second (by id: arbitrary but repeatable).
    SELECT e.id AS event, e.object_id AS subscription, e.created AS moment,
           CASE WHEN e.type = 'customer.subscription.created' THEN '0' ELSE '1' END || e.id
               AS tie,
           e.raw->'$.data.object.items' AS after_items,
           CASE WHEN e.type <> 'customer.subscription.created'
                THEN coalesce(e.previous_attributes->'$.items', e.raw->'$.data.object.items')
           END AS before_items,
           coalesce(e.raw->'$.data.object.discounts', '[]') AS after_discounts,
           coalesce(e.previous_attributes->'$.discounts', e.raw->'$.data.object.discounts', '[]')
               AS before_discounts
    FROM events AS e
    WHERE e.object_type = 'subscription'
      AND (e.type = 'customer.subscription.created'
           OR (e.previous_attributes->'$.items') IS NOT NULL
           OR (e.previous_attributes->'$.discounts') IS NOT NULL)
),
window_start AS (  -- per subscription alive at the window's start: what tells its state then
    SELECT s.id AS subscription, w.since,
           (SELECT e.event FROM item_events AS e WHERE e.subscription = s.id
            ORDER BY e.moment, e.tie LIMIT 1) AS first_event
    FROM subscriptions AS s, events_window AS w
    WHERE w.since IS NOT NULL AND s.created < w.since
      AND (s.ended_at IS NULL OR s.ended_at > w.since)
),
sets AS (
    SELECT subscription, moment, 3 AS rank, 'event' AS source, tie, after_items AS items,
           after_discounts AS discounts
    FROM item_events
    UNION ALL  -- the items before the first change held since the window's start
    SELECT w.subscription, w.since, 2, 'event', '', e.before_items, e.before_discounts
    FROM window_start AS w JOIN item_events AS e ON e.event = w.first_event
    WHERE e.before_items IS NOT NULL
    UNION ALL  -- nothing changed in the window before the first observation: its items
    SELECT w.subscription, w.since, 2, 'sync', '',
           json_object('data', (SELECT list(json_object('id', x[1], 'price', json_object('id', x[2]),
                                                        'quantity', CAST(x[3] AS BIGINT)))
                                FROM (SELECT unnest(CAST(o.items AS VARCHAR[][])) AS x)),
                       'has_more', FALSE),
           o.discounts
    FROM window_start AS w
    JOIN subscription_observations AS o ON o.subscription = w.subscription
    WHERE w.first_event IS NULL
    QUALIFY row_number() OVER (PARTITION BY w.subscription ORDER BY o.observed_at) = 1
    UNION ALL
    SELECT o.subscription, o.observed_at, 2, 'sync', '',
           json_object('data', (SELECT list(json_object('id', x[1], 'price', json_object('id', x[2]),
                                                        'quantity', CAST(x[3] AS BIGINT)))
                                FROM (SELECT unnest(CAST(o.items AS VARCHAR[][])) AS x)),
                       'has_more', FALSE),
           o.discounts
    FROM subscription_observations AS o
)
SELECT s.subscription, s.moment, s.rank, s.source, s.tie,
       NOT coalesce(CAST(s.items->>'$.has_more' AS BOOLEAN), FALSE) AS complete,
       i->>'$.id' AS subscription_item, i->>'$.price.id' AS price,
       CAST(i->>'$.quantity' AS BIGINT) AS quantity,
       to_json(list_concat(CAST(coalesce(s.discounts, '[]') AS VARCHAR[]),
                           CAST(coalesce(i->'$.discounts', '[]') AS VARCHAR[]))) AS discounts
FROM sets AS s
LEFT JOIN LATERAL (SELECT unnest(CAST(s.items->'$.data' AS JSON[])) AS i) ON TRUE;

CREATE OR REPLACE TEMP TABLE item_steps AS
WITH
present AS (  -- transitions to a state
    SELECT l.subscription, l.subscription_item, l.price, l.quantity, l.discounts,
           l.period_start AS moment, l.period_end, 1 AS rank, 'invoice' AS source, '' AS tie,
           coalesce(l.proration, FALSE) AS proration
    FROM invoice_lines AS l
    WHERE l.subscription_item IS NOT NULL AND l.price IS NOT NULL AND l.period_start IS NOT NULL
      AND (coalesce(l.proration, FALSE) = FALSE OR l.amount > 0)
    UNION ALL
    SELECT i.subscription, i.id, i.price, i.quantity, i.discounts,
           coalesce(i.current_period_start, i.created), NULL, 0, 'subscription', '', FALSE
    FROM subscription_items AS i
    UNION ALL
    SELECT subscription, subscription_item, price, quantity, discounts, moment, NULL, rank, source,
           tie, FALSE
    FROM item_sets WHERE subscription_item IS NOT NULL
),
absent AS (  -- transitions to absence: a credit for unused time, an item missing from a set
    SELECT l.subscription, l.subscription_item, NULL AS price, NULL AS quantity,
           NULL AS discounts, l.period_start AS moment, NULL AS period_end, 1 AS rank,
           'invoice' AS source, '' AS tie, TRUE AS proration
    FROM invoice_lines AS l
    WHERE l.subscription_item IS NOT NULL AND l.proration AND l.amount < 0
    UNION ALL
    SELECT s.subscription, k.subscription_item, NULL, NULL, NULL, s.moment, NULL, s.rank, s.source,
           s.tie, FALSE
    FROM (SELECT DISTINCT subscription, moment, rank, source, tie FROM item_sets WHERE complete)
         AS s
    JOIN (SELECT DISTINCT subscription, subscription_item FROM present) AS k USING (subscription)
    WHERE NOT EXISTS (SELECT 1 FROM item_sets AS x
                      WHERE x.subscription = s.subscription AND x.moment = s.moment
                        AND x.rank = s.rank AND x.tie = s.tie
                        AND x.subscription_item = k.subscription_item)
),
partial AS (  -- more than 10 items: events list only some, invoices still speak for the rest
    SELECT DISTINCT subscription FROM item_sets WHERE rank = 3 AND NOT complete
),
kept AS (  -- the strongest word per item and moment (the last of a second's events; a state
    -- over an absence); inside the events window, events only
    SELECT t.* FROM (SELECT * FROM present UNION ALL SELECT * FROM absent) AS t, events_window AS w
    WHERE NOT coalesce(t.rank < 2 AND t.moment >= w.since
                       AND t.subscription NOT IN (SELECT subscription FROM partial), FALSE)
    QUALIFY row_number() OVER (PARTITION BY t.subscription_item, t.moment
                               ORDER BY t.rank DESC, t.tie DESC, t.price IS NOT NULL DESC,
                                        t.price, t.quantity, t.discounts) = 1
),
changes AS (  -- a set that repeats the state already in force splits nothing
    SELECT *, lag(price) OVER w AS before_price, lag(quantity) OVER w AS before_quantity,
           lag(discounts) OVER w AS before_discounts, lag(moment) OVER w AS before_moment
    FROM kept WINDOW w AS (PARTITION BY subscription_item ORDER BY moment)
),
steps AS (
    SELECT * FROM changes
    WHERE NOT (price IS NULL AND before_price IS NULL)
      AND NOT (rank = 2 AND before_moment IS NOT NULL AND price IS NOT DISTINCT FROM before_price
               AND quantity IS NOT DISTINCT FROM before_quantity
               AND discounts IS NOT DISTINCT FROM before_discounts)
)
SELECT * FROM steps;

DELETE FROM subscription_item_history
WHERE subscription IN (SELECT subscription FROM history_scope);
INSERT INTO subscription_item_history
WITH
cut AS (
    SELECT *, lead(moment) OVER w AS next, lead(price) OVER w IS NULL AS next_absent
    FROM item_steps WINDOW w AS (PARTITION BY subscription_item ORDER BY moment)
),
ended AS (
    SELECT c.*, s.ended_at,
           EXISTS (SELECT 1 FROM subscription_items AS i WHERE i.id = c.subscription_item)
               AS current
    FROM cut AS c LEFT JOIN subscriptions AS s ON s.id = c.subscription
)
SELECT subscription, subscription_item, price, quantity, discounts, moment AS valid_from,
       CASE
           -- an invoiced period ends at its end at the latest when the item is gone next
           WHEN next IS NOT NULL AND next_absent AND period_end IS NOT NULL
               THEN least(next, period_end)
           WHEN next IS NOT NULL THEN next
           WHEN current THEN ended_at
           ELSE coalesce(period_end, ended_at)
       END AS valid_to,
       source
FROM ended
WHERE price IS NOT NULL
  AND NOT coalesce(valid_to <= valid_from, FALSE);  -- seen again after its subscription ended

-- Undated item changes: a price or quantity that some later source shows without anything
-- dating it — the set at the window's start differing from what the invoices said before it,
-- or a renewal line (not a proration) differing from the state before it (a change without
-- proration: it shows on the next invoice only). The history places it at that moment.
INSERT INTO undated_changes
SELECT s.subscription, s.subscription_item, s.before_moment, s.moment,
       CASE WHEN s.rank = 2 THEN 'window_start' ELSE 'invoice' END,
       s.before_price, s.before_quantity, s.price, s.quantity, NULL, NULL
FROM item_steps AS s, events_window AS w
WHERE s.before_moment IS NOT NULL AND s.before_price IS NOT NULL
  AND (s.price IS DISTINCT FROM s.before_price OR s.quantity IS DISTINCT FROM s.before_quantity)
  AND ((s.rank = 2 AND s.tie = '' AND s.moment = w.since)
       OR (s.rank = 1 AND NOT s.proration AND s.moment < coalesce(w.since, 'infinity')))
  -- a metered item's quantity is its usage, billed in arrears: it changes every period
  AND NOT EXISTS (SELECT 1 FROM prices AS p
                  WHERE p.id IN (s.price, s.before_price) AND p.usage_type = 'metered')
ON CONFLICT DO NOTHING;

-- An item of a subscription that ended before the window whose object shows another price or
-- quantity than the last state the invoices gave: changed after that, at a moment no object
-- records (the history keeps the invoiced state; the row says when it ended).
INSERT INTO undated_changes
SELECT s.subscription, s.subscription_item, s.moment, s.ended_at, 'subscription',
       s.price, s.quantity, i.price, i.quantity, NULL, NULL
FROM (SELECT t.*, e.ended_at FROM item_steps AS t
      JOIN subscriptions AS e ON e.id = t.subscription AND t.moment < e.ended_at
      QUALIFY row_number() OVER (PARTITION BY t.subscription_item ORDER BY t.moment DESC) = 1)
     AS s
JOIN subscription_items AS i ON i.id = s.subscription_item, events_window AS w
WHERE s.price IS NOT NULL AND s.ended_at <= coalesce(w.since, 'infinity')
  AND (i.price IS DISTINCT FROM s.price OR i.quantity IS DISTINCT FROM s.quantity)
  AND NOT EXISTS (SELECT 1 FROM prices AS p
                  WHERE p.id IN (s.price, i.price) AND p.usage_type = 'metered')
ON CONFLICT DO NOTHING;

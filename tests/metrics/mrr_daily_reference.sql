-- The per-day definition of MRR the segment layers replaced (metrics/sql/mrr_item_daily.sql and
-- mrr_subscription_daily.sql before segments), kept only as the reference the segments are tested
-- against (tests/metrics/test_mrr_segments.py): one row per (day, subscription), read day by day.
-- Parameters: $start, $as_of, $subtract_repeating, $subtract_once, $churn_at_period_end.
WITH item_days_reference AS (
WITH

-- A calendar spine: one row per day, with the instant its state is read at.
spine AS (
    SELECT CAST(range AS DATE) AS day, CAST(range AS TIMESTAMP) + INTERVAL 1 DAY AS day_end
    FROM range(CAST($start AS DATE), CAST($as_of AS DATE) + INTERVAL 1 DAY, INTERVAL 1 DAY)
),

-- Only licensed recurring prices carry MRR; one place turns a billing period into a month.
priced AS (
    SELECT id AS price, currency, unit_amount, billing_scheme, tiers_mode, tiers,
        CASE interval
            WHEN 'day'   THEN 365.0 / 12 / interval_count
            WHEN 'week'  THEN 52.0 / 12 / interval_count
            WHEN 'month' THEN 1.0 / interval_count
            WHEN 'year'  THEN 1.0 / (12 * interval_count)
        END AS months_factor
    FROM prices
    WHERE type = 'recurring' AND COALESCE(usage_type, 'licensed') = 'licensed'
),

-- Tiers flattened with their lower bound, so a quantity can be priced by graduated or volume rules.
tiers AS (
    SELECT price, tiers_mode, ordinal,
        CAST(tier->>'$.unit_amount' AS DOUBLE) AS unit, CAST(tier->>'$.flat_amount' AS DOUBLE) AS flat,
        CAST(tier->>'$.up_to' AS BIGINT) AS up_to,
        COALESCE(lag(CAST(tier->>'$.up_to' AS BIGINT)) OVER (PARTITION BY price ORDER BY ordinal), 0)
            AS above
    FROM (
        SELECT price, tiers_mode, UNNEST(CAST(tiers AS JSON[])) AS tier,
            generate_subscripts(CAST(tiers AS JSON[]), 1) AS ordinal
        FROM priced WHERE billing_scheme = 'tiered' AND tiers IS NOT NULL
    )
),

-- The item spans in force at some point in the window, with the quantity Stripe defaults to.
spans AS (
    SELECT h.subscription, h.subscription_item, h.price, COALESCE(h.quantity, 1) AS quantity,
        h.valid_from, h.valid_to
    FROM subscription_item_history AS h
    WHERE h.valid_from < CAST($as_of AS DATE) + INTERVAL 1 DAY
      AND (h.valid_to IS NULL OR h.valid_to >= CAST($start AS DATE) + INTERVAL 1 DAY)
),

-- The billed amount per period of each (price, quantity) pair: per unit, or by its tiers.
amounts AS (
    SELECT q.price, q.quantity,
        CASE WHEN p.billing_scheme = 'tiered' THEN (
            SELECT SUM(CASE
                WHEN t.tiers_mode = 'graduated' AND q.quantity > t.above THEN
                    (LEAST(q.quantity, COALESCE(t.up_to, q.quantity)) - t.above) * t.unit + t.flat
                WHEN t.tiers_mode = 'volume' AND q.quantity > t.above
                     AND (t.up_to IS NULL OR q.quantity <= t.up_to) THEN
                    q.quantity * t.unit + t.flat
                ELSE 0 END)
            FROM tiers AS t WHERE t.price = q.price)
        ELSE CAST(p.unit_amount AS DOUBLE) * q.quantity END AS period_amount_minor
    FROM (SELECT DISTINCT price, quantity FROM spans) AS q
    JOIN priced AS p USING (price)
),

-- Paying spans of each subscription: Stripe counts active and past_due only.
paying AS (
    SELECT subscription, valid_from, valid_to
    FROM subscription_status_history
    WHERE status IN ('active', 'past_due')
),

-- When a cancellation was requested, Stripe's rule takes the subscription out of MRR at the
-- request; the period-end setting leaves it in until it ends (its status span shows that).
cutoffs AS (
    SELECT id AS subscription, customer,
        CASE WHEN $churn_at_period_end THEN NULL ELSE canceled_at END AS leaves_at
    FROM subscriptions
),

-- One row per day and item in force that day, on a paying subscription.
item_days AS (
    SELECT spine.day, s.subscription, c.customer, s.subscription_item, s.price, s.quantity
    FROM spine
    JOIN spans AS s
      ON s.valid_from < spine.day_end AND (s.valid_to IS NULL OR s.valid_to >= spine.day_end)
    JOIN paying AS p
      ON p.subscription = s.subscription
     AND p.valid_from < spine.day_end AND (p.valid_to IS NULL OR p.valid_to >= spine.day_end)
    JOIN cutoffs AS c ON c.subscription = s.subscription
    WHERE c.leaves_at IS NULL OR c.leaves_at >= spine.day_end
)

SELECT d.day, d.subscription, d.customer, d.subscription_item, d.price, p.currency, d.quantity,
    a.period_amount_minor, a.period_amount_minor * p.months_factor AS list_mrr_minor,
    p.months_factor
FROM item_days AS d
JOIN priced AS p USING (price)
JOIN amounts AS a USING (price, quantity)
),
subscription_days_reference AS (
WITH

-- One row per subscription and day; the largest months factor prices an amount-off coupon,
-- which Stripe takes off each invoice (a yearly $120 off is $10 a month).
subscription_days AS (
    SELECT day, day + INTERVAL 1 DAY AS day_end, subscription, customer, currency,
        SUM(list_mrr_minor) AS list_mrr_minor, MAX(months_factor) AS months_factor,
        COUNT(*) AS items
    FROM item_days_reference
    GROUP BY ALL
),

-- The billed periods each discount was taken off, from the invoice lines that carry it.
discounted_lines AS (
    SELECT UNNEST(CAST(discounts AS VARCHAR[])) AS discount, period_end
    FROM invoice_lines
    WHERE NOT COALESCE(proration, FALSE) AND discounts IS NOT NULL AND discounts <> '[]'
),

-- A once coupon discounts one invoice: the period of the invoice that carried it (a trial's
-- free invoice does not), or, not invoiced yet, the billing period that contains its start.
once_periods AS (
    SELECT d.id AS discount, COALESCE(MIN(l.period_end), MIN(h.valid_to)) AS period_end
    FROM discounts AS d
    JOIN coupons AS c ON c.id = d.coupon AND c.duration = 'once'
    LEFT JOIN discounted_lines AS l ON l.discount = d.id
    LEFT JOIN subscription_item_history AS h
      ON h.subscription = d.subscription AND h.valid_from <= d.start AND h.valid_to > d.start
    GROUP BY ALL
),

-- The discounts each subscription carries, with the window they apply over; forever always
-- counts, repeating and once by the settings (Stripe's two toggles).
applied AS (
    SELECT COALESCE(d.subscription, s.id) AS subscription, d.start,
        CASE WHEN c.duration = 'once' THEN o.period_end ELSE d."end" END AS until,
        c.percent_off, c.amount_off
    FROM discounts AS d
    JOIN coupons AS c ON c.id = d.coupon
    LEFT JOIN once_periods AS o ON o.discount = d.id
    LEFT JOIN subscriptions AS s ON d.subscription IS NULL AND s.customer = d.customer
    WHERE d.invoice IS NULL AND COALESCE(d.subscription, s.id) IS NOT NULL
      AND d.start < CAST($as_of AS DATE) + INTERVAL 1 DAY  -- later discounts cannot apply yet
      AND (c.duration = 'forever'
           OR (c.duration = 'repeating' AND $subtract_repeating)
           OR (c.duration = 'once' AND $subtract_once))
),

-- Per subscription and day: the share left by percent coupons and the monthly amount taken off.
discount_days AS (
    SELECT sd.day, sd.subscription,
        PRODUCT(1 - COALESCE(a.percent_off, 0) / 100) AS kept_share,
        SUM(COALESCE(a.amount_off, 0) * sd.months_factor) AS amount_off_mrr_minor
    FROM subscription_days AS sd
    JOIN applied AS a
      ON a.subscription = sd.subscription AND a.start < sd.day_end
     AND (a.until IS NULL OR a.until >= sd.day_end)
    GROUP BY ALL
)

-- Net MRR never goes below zero: a coupon larger than the bill makes it free, not negative.
SELECT sd.day, sd.subscription, sd.customer, sd.currency, sd.items, sd.list_mrr_minor,
    GREATEST(0, sd.list_mrr_minor * COALESCE(dd.kept_share, 1)
        - COALESCE(dd.amount_off_mrr_minor, 0)) AS net_mrr_minor
FROM subscription_days AS sd
LEFT JOIN discount_days AS dd USING (day, subscription)
)
SELECT * FROM subscription_days_reference

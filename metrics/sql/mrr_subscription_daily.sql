-- List and net MRR per subscription per UTC day: the item days of `mrr_item_daily` summed, then
-- the subscription's discounts taken off.
-- Grain: one row per (day, subscription) with at least one counted item.
-- Reads the layer `mrr_item_daily`. Parameters: $as_of (DATE), $subtract_repeating,
-- $subtract_once (BOOLEAN).
WITH

-- One row per subscription and day; the largest months factor prices an amount-off coupon,
-- which Stripe takes off each invoice (a yearly $120 off is $10 a month).
subscription_days AS (
    SELECT day, day + INTERVAL 1 DAY AS day_end, subscription, customer, currency,
        SUM(list_mrr_minor) AS list_mrr_minor, MAX(months_factor) AS months_factor,
        COUNT(*) AS items
    FROM mrr_item_daily
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

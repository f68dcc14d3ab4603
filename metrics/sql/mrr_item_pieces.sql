-- Stored MRR pieces per subscription item, independent of the MRR settings: the day ranges
-- [from_day, to_day) over which an item counts toward MRR at a constant list MRR if cancellations
-- take effect at period end, with the day the subscription leaves MRR under Stripe's rule
-- (`leaves_day`) beside them. Built once per sync by `metrics.refresh` into the table
-- `mrr_item_pieces`; the layer `mrr_item_segments` applies the settings when it is read.
-- Grain: one row per (item run, paying run) that overlap on at least one day, where a run merges
-- consecutive history rows of the same price and quantity (the history splits them at every
-- invoice) and consecutive paying status spans. An open range ends on 9999-12-31.
-- Parameters: none (every span and every day of history).
--
-- "At the end of a day" d is the state just before d + 1 at 00:00 UTC: a span counts when it began
-- before that instant and had not ended before it, i.e. valid_from < d + 1 <= valid_to. For day
-- granular d that is exactly date(valid_from) <= d < date(valid_to), the range used here (a span
-- starting and ending on the same day never counts at a day's end). Merging rows whose day ranges
-- touch keeps exactly the same days.
WITH

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

-- Item history rows of priced items, with the quantity Stripe defaults to; an open row ends at
-- the end of time.
item_rows AS (
    SELECT h.subscription, h.subscription_item, h.price, COALESCE(h.quantity, 1) AS quantity,
        h.valid_from, COALESCE(h.valid_to, TIMESTAMP '9999-12-31') AS valid_to
    FROM subscription_item_history AS h
    SEMI JOIN priced AS p ON p.price = h.price
),

-- Runs: the history splits an item at every invoice, but the rows of one (item, price, quantity)
-- mostly follow each other without a gap. An item's rows never overlap (`sync/history.sql` ends
-- each at the next one's start at the latest), so the rows of such a group form one run exactly
-- when their lengths add up to the group's whole range. A GROUP BY for most rows, windows only
-- over the few groups that need them (an item that went back to an earlier price, or paused):
-- windows over every row were most of the refresh on `large`.
item_groups AS (
    SELECT subscription, subscription_item, price, quantity, MIN(valid_from) AS valid_from,
        MAX(valid_to) AS valid_to,
        SUM(epoch_us(valid_to) - epoch_us(valid_from))
            = epoch_us(MAX(valid_to)) - epoch_us(MIN(valid_from)) AS one_run
    FROM item_rows
    GROUP BY subscription, subscription_item, price, quantity
),

-- The groups that are not one run, numbered: their windows partition by that number, which sorts
-- far faster than the strings that name a group.
split_groups AS (
    SELECT subscription, subscription_item, price, quantity, row_number() OVER () AS grp
    FROM item_groups
    WHERE NOT one_run
),

-- Their runs, from the history read again (cheaper than keeping its 2 M rows in a CTE; the
-- groups are priced, the defaults are those of `item_rows`). Ordered by start, a row's end minus
-- the running sum of the lengths up to it is the group's first start plus the gaps before the row
-- (never negative, as rows never overlap): it stays the same exactly while each row starts where
-- the one before ended, so it names the run (one window pass, instead of a lag and then a running
-- count of the rows that open a run).
split_runs AS (
    SELECT grp, MIN(valid_from) AS valid_from, MAX(valid_to) AS valid_to
    FROM (
        SELECT g.grp, h.valid_from,
            COALESCE(h.valid_to, TIMESTAMP '9999-12-31') AS valid_to,
            epoch_us(COALESCE(h.valid_to, TIMESTAMP '9999-12-31'))
                - SUM(epoch_us(COALESCE(h.valid_to, TIMESTAMP '9999-12-31'))
                      - epoch_us(h.valid_from))
                  OVER (PARTITION BY g.grp ORDER BY h.valid_from ROWS UNBOUNDED PRECEDING) AS run
        FROM subscription_item_history AS h
        JOIN split_groups AS g
          ON g.subscription = h.subscription AND g.subscription_item = h.subscription_item
         AND g.price = h.price AND g.quantity = COALESCE(h.quantity, 1)
    )
    GROUP BY grp, run
),

-- Runs as day ranges; merging rows that meet keeps exactly the same days.
spans AS (
    SELECT subscription, subscription_item, price, quantity,
        CAST(valid_from AS DATE) AS from_day, CAST(valid_to AS DATE) AS to_day
    FROM item_groups
    WHERE one_run
    UNION ALL
    SELECT g.subscription, g.subscription_item, g.price, g.quantity,
        CAST(r.valid_from AS DATE), CAST(r.valid_to AS DATE)
    FROM split_runs AS r
    JOIN split_groups AS g USING (grp)
),

-- The billed amount per period of each (price, quantity) pair: per unit, or by its tiers.
amounts AS (
    SELECT q.price, q.quantity,
        CASE WHEN ANY_VALUE(p.billing_scheme) = 'tiered' THEN SUM(CASE
                WHEN t.price IS NULL THEN NULL  -- no tiers: unknown, as for a missing unit amount
                WHEN t.tiers_mode = 'graduated' AND q.quantity > t.above THEN
                    (LEAST(q.quantity, COALESCE(t.up_to, q.quantity)) - t.above) * t.unit + t.flat
                WHEN t.tiers_mode = 'volume' AND q.quantity > t.above
                     AND (t.up_to IS NULL OR q.quantity <= t.up_to) THEN
                    q.quantity * t.unit + t.flat
                ELSE 0 END)
        ELSE CAST(ANY_VALUE(p.unit_amount) AS DOUBLE) * q.quantity END AS period_amount_minor,
        ANY_VALUE(p.currency) AS currency, ANY_VALUE(p.months_factor) AS months_factor
    FROM (SELECT DISTINCT price, quantity FROM item_groups) AS q
    JOIN priced AS p USING (price)
    LEFT JOIN tiers AS t ON p.billing_scheme = 'tiered' AND t.price = q.price
    GROUP BY q.price, q.quantity
),

-- Paying spans of each subscription as day ranges (Stripe counts active and past_due only),
-- consecutive ones merged as the item rows are: a subscription's status spans never overlap
-- (each ends where the next begins), so the same running sum names the run.
paying_rows AS (
    SELECT subscription, CAST(valid_from AS DATE) AS from_day,
        COALESCE(CAST(valid_to AS DATE), DATE '9999-12-31') AS to_day, valid_from
    FROM subscription_status_history
    WHERE status IN ('active', 'past_due')
),

paying_runs AS (
    SELECT subscription, MIN(from_day) AS from_day, MAX(to_day) AS to_day
    FROM (
        SELECT subscription, from_day, to_day,
            (to_day - DATE '1970-01-01') - SUM(to_day - from_day)
                OVER (PARTITION BY subscription ORDER BY valid_from ROWS UNBOUNDED PRECEDING)
                AS run
        FROM paying_rows
    )
    GROUP BY subscription, run
),

-- With what the subscription carries: its customer and, when a cancellation was requested, the
-- day Stripe's rule takes it out of MRR (from that day's end on; the period-end setting leaves it
-- in until it ends, which its status span shows).
paying AS (
    SELECT r.subscription, s.customer,
        COALESCE(CAST(s.canceled_at AS DATE), DATE '9999-12-31') AS leaves_day, r.from_day,
        r.to_day
    FROM paying_runs AS r
    JOIN subscriptions AS s ON s.id = r.subscription
)

-- Each item run cut to the paying runs it overlaps, priced.
SELECT s.subscription, g.customer, s.subscription_item, s.price, a.currency, s.quantity,
    a.period_amount_minor, a.period_amount_minor * a.months_factor AS list_mrr_minor,
    a.months_factor, GREATEST(s.from_day, g.from_day) AS from_day,
    LEAST(s.to_day, g.to_day) AS to_day, g.leaves_day
FROM spans AS s
JOIN paying AS g
  ON g.subscription = s.subscription AND g.from_day < s.to_day AND s.from_day < g.to_day
JOIN amounts AS a USING (price, quantity)
WHERE GREATEST(s.from_day, g.from_day) < LEAST(s.to_day, g.to_day)

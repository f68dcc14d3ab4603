-- Each subscription whose net MRR differs between the end of $since and the end of $as_of, with
-- its items then and now: the rows behind a customer's movement.
-- Grain: one row per such subscription.
-- Reads the layers `mrr_item_segments` and `mrr_subscription_segments`. Parameters: $since,
-- $as_of (DATE), and those of the layers.
WITH

at_start AS (
    SELECT subscription, customer, currency, net_mrr_minor
    FROM mrr_subscription_segments
    WHERE from_day <= CAST($since AS DATE) AND CAST($since AS DATE) < to_day
),

at_end AS (
    SELECT subscription, customer, currency, net_mrr_minor
    FROM mrr_subscription_segments
    WHERE from_day <= CAST($as_of AS DATE) AND CAST($as_of AS DATE) < to_day
),

-- "plan × quantity" per item (the price's nickname, else its id), on each of the two days.
items_at AS (
    SELECT d.day, i.subscription,
        string_agg(COALESCE(p.nickname, i.price) || ' × ' || CAST(i.quantity AS VARCHAR), ', '
                   ORDER BY COALESCE(p.nickname, i.price), i.quantity) AS items
    FROM (SELECT CAST($since AS DATE) AS day UNION ALL SELECT CAST($as_of AS DATE)) AS d
    JOIN mrr_item_segments AS i ON i.from_day <= d.day AND d.day < i.to_day
    LEFT JOIN prices AS p ON p.id = i.price
    GROUP BY ALL
),

changed AS (
    SELECT subscription,
        COALESCE(e.customer, s.customer) AS customer,
        COALESCE(e.currency, s.currency) AS currency,
        COALESCE(s.net_mrr_minor, 0) AS start_mrr_minor,
        COALESCE(e.net_mrr_minor, 0) AS end_mrr_minor
    FROM at_start AS s
    FULL JOIN at_end AS e USING (subscription)
    WHERE COALESCE(s.net_mrr_minor, 0) <> COALESCE(e.net_mrr_minor, 0)
)

SELECT c.subscription, c.customer, c.currency, c.start_mrr_minor, c.end_mrr_minor,
    b.items AS items_before, a.items AS items_after
FROM changed AS c
LEFT JOIN items_at AS b ON b.subscription = c.subscription AND b.day = CAST($since AS DATE)
LEFT JOIN items_at AS a ON a.subscription = c.subscription AND a.day = CAST($as_of AS DATE)
ORDER BY c.customer, c.subscription

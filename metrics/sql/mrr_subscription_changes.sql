-- Each change of a subscription's net MRR in ($since, $as_of], with its customer's movement kind
-- that day and its items the day before and that day: the rows behind a customer's movements.
-- Grain: one row per (subscription, day) whose net MRR differs from the day before, on a day its
-- customer's MRR in the currency changed (a same-day swap that nets to zero is no movement).
-- Reads the layers `mrr_item_segments`, `mrr_subscription_segments` and `mrr_customer_changes`
-- (run with $start the day after $since). Parameters: $since, $as_of (DATE), and the layers'.
WITH

-- A segment adds its MRR on its first day and takes it off on its end day, both inside the window.
steps AS (
    SELECT subscription, customer, currency, from_day AS day,
        CAST(net_mrr_minor AS DECIMAL(38, 14)) AS delta
    FROM mrr_subscription_segments
    WHERE from_day > CAST($since AS DATE) AND from_day <= CAST($as_of AS DATE)
    UNION ALL
    SELECT subscription, customer, currency, to_day, -CAST(net_mrr_minor AS DECIMAL(38, 14))
    FROM mrr_subscription_segments
    WHERE to_day > CAST($since AS DATE) AND to_day <= CAST($as_of AS DATE)
),

changed AS (
    SELECT subscription, customer, currency, day, SUM(delta) AS change_minor
    FROM steps
    GROUP BY ALL
    HAVING SUM(delta) <> 0
),

-- The subscription's net MRR at the end of the day before and of the day (its segments never
-- overlap, so at most one contains a day).
levels AS (
    SELECT c.*, COALESCE(b.net_mrr_minor, 0.0) AS start_mrr_minor,
        COALESCE(a.net_mrr_minor, 0.0) AS end_mrr_minor
    FROM changed AS c
    LEFT JOIN mrr_subscription_segments AS b
      ON b.subscription = c.subscription AND b.from_day < c.day AND c.day - 1 < b.to_day
    LEFT JOIN mrr_subscription_segments AS a
      ON a.subscription = c.subscription AND a.from_day <= c.day AND c.day < a.to_day
),

-- "plan × quantity" per item (the price's nickname, else its id), the day before and the day.
items_at AS (
    SELECT d.subscription, d.change_day, d.day,
        string_agg(COALESCE(p.nickname, i.price) || ' × ' || CAST(i.quantity AS VARCHAR), ', '
                   ORDER BY COALESCE(p.nickname, i.price), i.quantity) AS items
    FROM (SELECT subscription, day AS change_day, day FROM changed
          UNION ALL
          SELECT subscription, day, CAST(day - 1 AS DATE) FROM changed) AS d
    JOIN mrr_item_segments AS i
      ON i.subscription = d.subscription AND i.from_day <= d.day AND d.day < i.to_day
    LEFT JOIN prices AS p ON p.id = i.price
    GROUP BY ALL
)

SELECT l.customer, l.currency, m.kind, l.subscription, l.start_mrr_minor, l.end_mrr_minor,
    l.change_minor, b.items AS items_before, a.items AS items_after, l.day
FROM levels AS l
JOIN mrr_customer_changes AS m
  ON m.customer = l.customer AND m.currency = l.currency AND m.day = l.day
LEFT JOIN items_at AS b ON b.subscription = l.subscription AND b.change_day = l.day
                       AND b.day = l.day - 1
LEFT JOIN items_at AS a ON a.subscription = l.subscription AND a.change_day = l.day
                       AND a.day = l.day
ORDER BY l.customer, l.subscription, l.day

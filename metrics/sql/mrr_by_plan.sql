-- Net and list MRR per plan (price) at the end of $as_of, with its product and currency.
-- Grain: one row per price with an item in MRR that day.
-- Reads the layers `mrr_item_segments` and `mrr_subscription_segments`. Parameters: $as_of (DATE),
-- and those of the layers.
--
-- A subscription's discounts apply to the subscription, not to one item, so its net MRR is split
-- over its items in proportion to their list MRR (ChartMogul's allocation; Stripe shows no net
-- MRR per plan): the plans' net MRR then adds up to the subscriptions' exactly.
WITH

items AS (
    SELECT subscription, customer, price, currency, quantity, list_mrr_minor
    FROM mrr_item_segments
    WHERE from_day <= CAST($as_of AS DATE) AND CAST($as_of AS DATE) < to_day
),

subscriptions_on AS (
    SELECT subscription, list_mrr_minor AS subscription_list, net_mrr_minor AS subscription_net
    FROM mrr_subscription_segments
    WHERE from_day <= CAST($as_of AS DATE) AND CAST($as_of AS DATE) < to_day
)

SELECT pr.product, pd.name AS product_name, i.price, pr.nickname AS price_nickname, i.currency,
    COUNT(DISTINCT i.subscription) AS subscriptions,
    COUNT(DISTINCT i.customer) AS customers,
    SUM(i.quantity) AS quantity,
    SUM(i.list_mrr_minor) AS list_mrr_minor,
    SUM(CASE WHEN s.subscription_list > 0
             THEN i.list_mrr_minor * s.subscription_net / s.subscription_list ELSE 0 END)
        AS net_mrr_minor
FROM items AS i
JOIN subscriptions_on AS s USING (subscription)
LEFT JOIN prices AS pr ON pr.id = i.price
LEFT JOIN products AS pd ON pd.id = pr.product
GROUP BY ALL
ORDER BY net_mrr_minor DESC, i.price

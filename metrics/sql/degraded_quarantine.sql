-- What the quarantine keeps out of the warehouse, per table, as the last sync left it (an object
-- that comes back valid leaves it): the objects first seen by the end of $as_of. Grain: one row
-- per table with quarantined objects. Parameters: $as_of (DATE).
-- `subscriptions`: how many subscriptions MRR leaves out because of them (a quarantined
-- subscription, or the subscription of a quarantined item); NULL for the other tables.
WITH

-- the subscription each quarantined object takes out of MRR (its raw text may be cut short or
-- too deep to parse as JSON: then it names none)
named AS (
    SELECT
        table_name,
        CASE
            WHEN table_name = 'subscriptions' THEN object_key
            WHEN table_name = 'subscription_items' AND json_valid(raw)
                THEN json_extract_string(raw, '$.subscription')
        END AS subscription,
        first_seen
    FROM quarantine
    WHERE first_seen < CAST($as_of AS DATE) + INTERVAL 1 DAY
)

SELECT
    table_name,
    count(*) AS objects,
    CASE
        WHEN table_name IN ('subscriptions', 'subscription_items')
            THEN count(DISTINCT subscription)
    END AS subscriptions,
    min(first_seen) AS since
FROM named
GROUP BY table_name
ORDER BY table_name

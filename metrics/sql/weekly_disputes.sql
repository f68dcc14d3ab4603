-- The disputes the weekly review lists: those opened in the week and those open at its end,
-- with the customer they came from.
-- Reads the layer `dispute_list` (its $as_of, the week's Sunday), `charges` and `customers`.
-- Grain: one row per dispute. Parameters: $as_of (DATE), $week_start (DATE, the week's Monday).
SELECT
    dispute_list.*,
    -- the customer as the account names it (account text); its id when it has neither
    COALESCE(NULLIF(customers.name, ''), NULLIF(customers.email, ''), charges.customer)
        AS customer
FROM dispute_list
LEFT JOIN charges ON charges.id = dispute_list.charge
LEFT JOIN customers ON customers.id = charges.customer
WHERE dispute_list.created >= CAST($week_start AS DATE) OR dispute_list.is_open
-- soonest deadline first; those without one (closed, opened this week) last
ORDER BY dispute_list.is_open DESC, dispute_list.due_by NULLS LAST, dispute_list.created,
    dispute_list.dispute

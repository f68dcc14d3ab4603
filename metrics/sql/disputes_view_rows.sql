-- The disputes the Disputes page lists: every one open at the reference time or opened in the
-- days ($since, $as_of], with the charge and customer behind it and the time left to respond.
-- Grain: one row per dispute. Reads the layers `dispute_list` (its $as_of) and
-- `disputes_view_reference` (the reference time: the account's clock at the last sync, or the
-- end of $as_of when that is earlier). Parameters: $since, $as_of (DATE), $currency (VARCHAR;
-- '' for every currency).
WITH

-- A dispute names its charge; the customer is the charge's (NULL when either is not synced).
named AS (
    SELECT
        dispute_list.*,
        charges.created AS charge_created,
        charges.customer,
        customers.name AS customer_name,
        COALESCE(disputes.has_evidence, FALSE) AS has_evidence,
        reference.at AS reference_at
    FROM dispute_list
    JOIN disputes ON disputes.id = dispute_list.dispute
    LEFT JOIN charges ON charges.id = dispute_list.charge
    LEFT JOIN customers ON customers.id = charges.customer
    CROSS JOIN disputes_view_reference AS reference
    WHERE $currency = '' OR dispute_list.currency = $currency
)

SELECT
    dispute,
    charge,
    charge_created,
    customer,
    customer_name,
    created,
    status,
    reason,
    currency,
    amount_minor,
    is_open,
    created >= CAST($since AS DATE) + INTERVAL 1 DAY AS opened_in_range,
    has_evidence,
    needs_response,
    due_by,
    date_diff('second', reference_at, due_by) AS seconds_left,
    -- metrics.disputes' "due within 72 h", from the reference time instead of the day's end
    COALESCE(needs_response AND due_by >= reference_at
             AND due_by <= reference_at + INTERVAL 72 HOUR, FALSE) AS due_within_72h,
    COALESCE(needs_response AND due_by < reference_at, FALSE) AS past_due,
    respond_by,
    needs_response AND respond_by < reference_at AS respond_overdue,
    reference_at
FROM named
WHERE is_open OR created >= CAST($since AS DATE) + INTERVAL 1 DAY
ORDER BY is_open DESC, due_by, dispute

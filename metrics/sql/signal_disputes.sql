-- Disputes opened by $as_of with the customer behind each, for the dispute alerts.
-- Grain: one row per dispute. Parameters: $as_of (TIMESTAMP, naive UTC).
--
-- A dispute names its charge, not its customer: the customer is the charge's, and the name
-- the customer's (NULL when the charge or customer is not in the warehouse). Status and
-- evidence are the latest synced ones, which is the state at $as_of when $as_of is the
-- account's clock after a sync (how the alert engine calls it).
SELECT
    disputes.id AS dispute,
    disputes.charge,
    charges.customer,
    customers.name AS customer_name,
    disputes.amount,
    disputes.currency,
    disputes.reason,
    disputes.status,
    disputes.created,
    disputes.evidence_due_by AS due_by,
    COALESCE(disputes.has_evidence, FALSE) AS has_evidence
FROM disputes
LEFT JOIN charges ON charges.id = disputes.charge
LEFT JOIN customers ON customers.id = charges.customer
WHERE disputes.created <= $as_of

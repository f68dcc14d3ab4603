-- Disputes awaiting the merchant's response, due in (as_of, due_until], without evidence:
-- SPEC §7's "dispute due within 72 hours with no evidence". Soonest deadline first.
-- Reads the layer `signal_disputes` (its $as_of). Grain: one row per dispute.
-- Parameters: $due_until (TIMESTAMP, naive UTC).
--
-- Only needs_response and warning_needs_response (an inquiry) await a response; under_review
-- has been answered. A deadline already past is not "due": it is lost to the bank's clock.
SELECT *
FROM signal_disputes
WHERE status IN ('needs_response', 'warning_needs_response')
  AND NOT has_evidence
  AND due_by > $as_of
  AND due_by <= $due_until
ORDER BY due_by, dispute

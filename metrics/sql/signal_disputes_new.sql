-- Disputes opened in (since, as_of], oldest first. Reads the layer `signal_disputes` (its
-- $as_of). Grain: one row per dispute. Parameters: $since (TIMESTAMP, naive UTC).
SELECT *
FROM signal_disputes
WHERE created > $since
ORDER BY created, dispute

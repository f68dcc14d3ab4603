-- The Payments page's attempts, over the `payment_attempts` layer: inside the page's filters,
-- with what the page also filters and groups by: the card's funding, the customer, the decline.
-- Grain: one row per attempt of `payment_attempts` (a charge, or a PaymentIntent with $dedup).
-- Parameters: those of `payment_attempts` ($start, $as_of, $dedup, …), and $currency, $brand,
-- $country, $funding, $decline (VARCHAR; '' = any).
--
-- The decline is the alert engine's (sql/signal_attempts.sql), so an alert's link finds what
-- the alert counted: outcome.reason (the issuer's decline code), else the network's code, else
-- the failure code; '' for a success. The card filters select attempts; the decline filter only
-- selects which failures are `declined`, so a segment keeps its success rate (all its attempts)
-- while the declines shown are those with the code.
WITH

-- Funding and customer are not in the attempts layer: the attempt's (last) charge has them.
described AS (
    SELECT
        a.*,
        c.card_funding,
        c.customer,
        CASE WHEN a.succeeded THEN ''
             ELSE COALESCE(a.outcome_reason, a.network_decline_code, a.failure_code, '')
        END AS decline
    FROM payment_attempts AS a
    LEFT JOIN charges AS c ON c.id = a.charge
)

SELECT
    *,
    NOT succeeded AND ($decline = '' OR decline = $decline) AS declined
FROM described
WHERE ($currency = '' OR currency = $currency)
  AND ($brand = '' OR card_brand = $brand)
  AND ($country = '' OR card_country = $country)
  AND ($funding = '' OR card_funding = $funding)

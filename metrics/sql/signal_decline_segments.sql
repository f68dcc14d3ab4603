-- Attempts and failures per card segment and decline code, over the layer `signal_attempts`:
-- the input of the decline driver's shift-share decomposition (metrics/signals_driver.py).
-- Grain: one row per card_brand × card_country × card_funding × decline present in the spans.
-- Reads the layer `signal_attempts` (its $since, $as_of, $starts, $ends).
--
-- A missing card field is '' (one segment "unknown"), so every attempt lands in a segment and
-- the segments' counts add up to the window's.
SELECT
    COALESCE(card_brand, '') AS card_brand,
    COALESCE(card_country, '') AS card_country,
    COALESCE(card_funding, '') AS card_funding,
    decline,
    COUNT(*) AS attempted,
    COUNT(*) FILTER (WHERE succeeded) AS succeeded
FROM signal_attempts
GROUP BY ALL

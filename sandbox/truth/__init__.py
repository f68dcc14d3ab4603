"""What the simulated account's metrics really are: the ledger the engine keeps
(``ledger``), the truth report built from it (``report``) and monthly figures (``stats``)."""

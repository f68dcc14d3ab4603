"""Scrubbing secrets out of error text before it is kept or shown anywhere.

Stripe's own 401/403 texts quote a masked key, but a proxy, an old API version or a message
that echoes a request header can carry the whole key, and whatever an error says ends up in
the log, in `sync_runs` (master and snapshots) and in `paylens sync status`. So every error
text the sync records goes through `scrub`, and the command's log handlers through
`ScrubFilter`: anything shaped like a Stripe key (`sk_`/`rk_`/`pk_` test or live, `whsec_`),
a Slack webhook URL or a `Bearer` token becomes `[redacted]`, as does any secret passed in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

REDACTED = "[redacted]"
_PATTERNS = re.compile(
    r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9_]+"
    r"|\bwhsec_[A-Za-z0-9_]+"
    r"|https?://hooks\.slack\.com/services/[A-Za-z0-9/_-]+"
    r"|\bBearer\s+[^\s'\"<>,;]+",
    re.IGNORECASE,
)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every key-, webhook- or token-shaped part, and each of `secrets` (values
    this process holds, whatever their shape), replaced by `[redacted]`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _PATTERNS.sub(REDACTED, text)


def scrub_values(texts: Mapping[str, str]) -> dict[str, str]:
    """Each value of `texts` scrubbed (the per-resource errors of a run)."""
    return {key: scrub(value) for key, value in texts.items()}


class ScrubFilter(logging.Filter):
    """A handler filter that scrubs each record's message and traceback before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def scrub_handlers(handlers: Iterable[logging.Handler]) -> None:
    """Give each handler a `ScrubFilter` (once)."""
    for handler in handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())

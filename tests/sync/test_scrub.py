"""`sync.scrub`: key-, webhook- and token-shaped text becomes `[redacted]`, in error text and
in every log record a scrubbed handler writes (message, arguments and traceback)."""

from __future__ import annotations

import io
import logging

import pytest

from sync.scrub import REDACTED, ScrubFilter, scrub, scrub_handlers, scrub_values


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("Invalid API Key provided: sk_test_51AbCdEf0123", f"Invalid API Key provided: {REDACTED}"),
        ("key sk_live_XYZ789, then", f"key {REDACTED}, then"),
        ("restricted rk_live_abc_DEF and rk_test_1", f"restricted {REDACTED} and {REDACTED}"),
        ("publishable pk_test_Q1w2E3", f"publishable {REDACTED}"),
        ("signing secret whsec_abc123XYZ", f"signing secret {REDACTED}"),
        ("posted to https://hooks.slack.com/services/T0/B1/xyz: 404",
         f"posted to {REDACTED}: 404"),
        ("header Authorization: Bearer anything.at-all; next",
         f"header Authorization: {REDACTED}; next"),
        ("Stripe's mask sk_test_****1234 is kept", "Stripe's mask sk_test_****1234 is kept"),
        ("no secret here: ch_3Abc, cus_Xyz, sk_other",
         "no secret here: ch_3Abc, cus_Xyz, sk_other"),
    ],
)  # fmt: skip
def test_secret_shaped_text_is_redacted_and_nothing_else(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed


def test_a_given_secret_is_redacted_whatever_its_shape() -> None:
    assert scrub("the password is hunter2!", secrets=["hunter2", ""]) == (
        f"the password is {REDACTED}!"
    )


def test_per_resource_errors_are_scrubbed_value_by_value() -> None:
    assert scrub_values({"charges": "Bearer sk_test_1", "events": "ok"}) == {
        "charges": REDACTED,
        "events": "ok",
    }


def test_a_scrubbed_handler_writes_no_key_from_arguments_or_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    scrub_handlers([handler])
    scrub_handlers([handler])  # once is enough: no second filter
    logger = logging.getLogger("tests.scrub")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error("sync failed: %s", "Authorization: Bearer sk_live_Secret1")
        try:
            raise RuntimeError("echoed sk_test_Secret2")
        except RuntimeError:
            logger.exception("while reading")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert [type(f) for f in handler.filters] == [ScrubFilter]
    assert "sk_live_Secret1" not in written and "sk_test_Secret2" not in written
    assert f"sync failed: Authorization: {REDACTED}" in written
    assert f"RuntimeError: echoed {REDACTED}" in written

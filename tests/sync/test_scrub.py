"""`sync.scrub`: key-, webhook- and token-shaped text becomes `[redacted]`, in error text and
in every log record a scrubbed handler writes (message, arguments and traceback)."""

from __future__ import annotations

import io
import logging

import pytest

from sync.scrub import REDACTED, ScrubFilter, scrub, scrub_handlers, scrub_values

# The shapes, assembled at run time: no key- or webhook-shaped literal sits in the repository
# (a secret scan of the tree would stop at it).
SK_TEST, SK_LIVE = "sk_" + "test_", "sk_" + "live_"
RK_TEST, RK_LIVE, PK_TEST = "rk_" + "test_", "rk_" + "live_", "pk_" + "test_"
WHSEC = "whsec" + "_"
SLACK_HOOK = "https://hooks." + "slack.com/services/"


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        (f"Invalid API Key provided: {SK_TEST}51AbCdEf0123",
         f"Invalid API Key provided: {REDACTED}"),
        (f"key {SK_LIVE}XYZ789, then", f"key {REDACTED}, then"),
        (f"restricted {RK_LIVE}abc_DEF and {RK_TEST}1", f"restricted {REDACTED} and {REDACTED}"),
        (f"publishable {PK_TEST}Q1w2E3", f"publishable {REDACTED}"),
        (f"signing secret {WHSEC}abc123XYZ", f"signing secret {REDACTED}"),
        (f"posted to {SLACK_HOOK}T0/B1/xyz: 404",
         f"posted to {REDACTED}: 404"),
        ("header Authorization: Bearer anything.at-all; next",
         f"header Authorization: {REDACTED}; next"),
        (f"Stripe's mask {SK_TEST}****1234 is kept", f"Stripe's mask {SK_TEST}****1234 is kept"),
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
    assert scrub_values({"charges": f"Bearer {SK_TEST}1", "events": "ok"}) == {
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
        logger.error("sync failed: %s", f"Authorization: Bearer {SK_LIVE}Secret1")
        try:
            raise RuntimeError(f"echoed {SK_TEST}Secret2")
        except RuntimeError:
            logger.exception("while reading")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert [type(f) for f in handler.filters] == [ScrubFilter]
    assert f"{SK_LIVE}Secret1" not in written and f"{SK_TEST}Secret2" not in written
    assert f"sync failed: Authorization: {REDACTED}" in written
    assert f"RuntimeError: echoed {REDACTED}" in written

"""Stripe's error responses: one exception the API layer raises, rendered as Stripe's JSON."""

from __future__ import annotations

from typing import Any

from sandbox.api.listing import dumps

DOCS = "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."


class ApiError(Exception):
    """A request Stripe would refuse; ``body`` is the exact JSON Stripe sends for it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.error_type = error_type

    def body(self) -> bytes:
        """``{"error": {...}}`` with only the fields Stripe would include."""
        error: dict[str, Any] = {"message": self.message, "type": self.error_type}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return dumps({"error": error})


def mask_key(key: str) -> str:
    """A key as Stripe echoes it: its ``sk_test_``-style prefix, stars, and the last 4 only
    when enough is hidden that the key cannot be read back."""
    prefix = ""
    for candidate in ("sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"):
        if key.startswith(candidate):
            prefix = candidate
    rest = key[len(prefix) :]
    return f"{prefix}****{rest[-4:] if len(rest) >= 12 else ''}"


def invalid_key(key: str) -> ApiError:
    """401 for a wrong key (never echoing it in full)."""
    return ApiError(401, f"Invalid API Key provided: {mask_key(key)}")


def echoed_authorization(authorization: str | None) -> ApiError:
    """400 quoting the request's ``Authorization`` header in full: Stripe masks keys, but a
    proxy or an old integration may not, and a client must keep such text out of its records
    (the ``echo`` fault, ``sandbox.api.faults``)."""
    return ApiError(400, f"Invalid request: cannot use the header Authorization: {authorization}")


def missing_key() -> ApiError:
    """401 for a request without a key."""
    return ApiError(
        401,
        "You did not provide an API key. You need to provide your API key in "
        "the Authorization header, using Bearer auth (e.g. 'Authorization: "
        "Bearer YOUR_SECRET_KEY'). " + DOCS,
    )


def unrecognized(method: str, path: str) -> ApiError:
    """404 for a URL the sandbox (or Stripe) does not serve."""
    return ApiError(404, f"Unrecognized request URL ({method}: {path}). {DOCS}")


def no_such(object_name: str, object_id: str, *, param: str, status: int = 404) -> ApiError:
    """``resource_missing`` for an unknown id (404 for the URL's id, 400 for a parameter)."""
    return ApiError(
        status, f"No such {object_name}: '{object_id}'", param=param, code="resource_missing"
    )


def bad_param(param: str, message: str, code: str = "parameter_invalid") -> ApiError:
    """400 naming the offending parameter."""
    return ApiError(400, message, param=param, code=code)


SANDBOX_ACCOUNT = "acct_paylenssandbox"


def forbidden(key: str, permission: str) -> ApiError:
    """403 for a restricted key lacking a permission, in Stripe's words (no ``code``: Stripe
    sends none for this error)."""
    return ApiError(
        403,
        f"The provided key '{mask_key(key)}' does not have the required permissions for this "
        f"endpoint on account '{SANDBOX_ACCOUNT}'. Having the '{permission}' permission would "
        "allow this request to continue.",
    )

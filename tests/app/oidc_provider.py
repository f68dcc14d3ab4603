"""A small OpenID Connect provider on 127.0.0.1, standing in for Google, Okta or Entra in tests.

It serves what a relying party (here Streamlit's `st.login`, through Authlib) uses: the discovery
document, `/authorize` (which approves its one user at once and redirects back with a code),
`/token` (the code for an access token and an RS256-signed id_token), `/jwks`, `/userinfo` and
`/logout` (the end-session endpoint). It is strict where a real provider is: the client id, the
registered redirect URI, the client secret (HTTP Basic or in the form), a single-use code, and
the PKCE verifier when a challenge was sent; a refused request gets OAuth's error JSON, or a 400
page on `/authorize`, and is recorded in `refused`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

KEY_ID = "paylens-test-key"


@dataclass(frozen=True)
class User:
    sub: str
    name: str
    email: str


@dataclass
class _Grant:
    """What an /authorize request asked for, kept until its code is exchanged."""

    redirect_uri: str
    nonce: str | None
    challenge: str | None
    method: str | None


@dataclass
class OidcProvider:
    """The provider for one client and one user; `start()` serves it on a free port."""

    client_id: str
    client_secret: str
    redirect_uri: str
    user: User
    seen: list[str] = field(default_factory=list)  # "METHOD /path" of every request, in order
    refused: list[str] = field(default_factory=list)  # why each refused request was refused
    token_requests: list[dict[str, str]] = field(default_factory=list)  # forms, secret removed
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _tokens: set[str] = field(default_factory=set)
    _key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(
            2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"}
        )
    )
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def issuer(self) -> str:
        assert self._server is not None, "start() the provider first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OidcProvider:
        provider = self

        class Handler(_Handler):
            pass

        Handler.provider = provider
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def shutdown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def discovery(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "name", "email", "iss", "aud", "exp", "iat", "nonce"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.as_dict(private=False)]}

    def authorize(self, query: dict[str, str]) -> str:
        """The URL to send the browser to: the redirect URI with a fresh code and the state."""
        if query.get("client_id") != self.client_id:
            raise _Refused("unauthorized_client", "unknown client_id")
        if query.get("redirect_uri") != self.redirect_uri:
            raise _Refused("invalid_request", f"redirect_uri {query.get('redirect_uri')!r}")
        if query.get("response_type") != "code":
            raise _Refused("unsupported_response_type", "only the code flow")
        if "openid" not in query.get("scope", "").split():
            raise _Refused("invalid_scope", "openid is required")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(
                self.redirect_uri,
                query.get("nonce"),
                query.get("code_challenge"),
                query.get("code_challenge_method"),
            )
        answer = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return f"{self.redirect_uri}?{urllib.parse.urlencode(answer)}"

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """The token response for an authorization code; each code is good once."""
        client_id, client_secret = basic or (form.get("client_id"), form.get("client_secret"))
        self.token_requests.append({k: v for k, v in form.items() if k != "client_secret"})
        if client_id != self.client_id or not secrets.compare_digest(
            str(client_secret or ""), self.client_secret
        ):
            raise _Refused("invalid_client", "wrong client credentials")
        if form.get("grant_type") != "authorization_code":
            raise _Refused("unsupported_grant_type", "only authorization_code")
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)
        if grant is None:
            raise _Refused("invalid_grant", "unknown or used code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _Refused("invalid_grant", "redirect_uri differs from the authorization's")
        if grant.challenge is not None and pkce_challenge(form.get("code_verifier", "")) != (
            grant.challenge
        ):
            raise _Refused("invalid_grant", "the PKCE verifier does not match")
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(access_token)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid email profile",
            "id_token": self._id_token(grant.nonce, access_token),
        }

    def _id_token(self, nonce: str | None, access_token: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.user.sub,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            "at_hash": _half_hash(access_token),
            "name": self.user.name,
            "email": self.user.email,
            "email_verified": True,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}, claims, self._key)

    def userinfo(self, authorization: str | None) -> dict[str, Any]:
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            known = token in self._tokens
        if not known:
            raise _Refused("invalid_token", "unknown access token")
        return {"sub": self.user.sub, "name": self.user.name, "email": self.user.email}


class _Refused(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description = error, description


def pkce_challenge(verifier: str) -> str:
    """PKCE's S256: the unpadded base64url of the verifier's SHA-256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _half_hash(access_token: str) -> str:
    """OIDC's at_hash for RS256: the left half of the token's SHA-256, base64url, unpadded."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


class _Handler(BaseHTTPRequestHandler):
    provider: OidcProvider

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `seen`
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.provider.seen.append(f"GET {url.path}")
        try:
            if url.path == "/.well-known/openid-configuration":
                self._json(200, self.provider.discovery())
            elif url.path == "/jwks":
                self._json(200, self.provider.jwks())
            elif url.path == "/authorize":
                self._redirect(self.provider.authorize(query))
            elif url.path == "/userinfo":
                self._json(200, self.provider.userinfo(self.headers.get("Authorization")))
            elif url.path == "/logout":
                self._logout(query)
            else:
                self._json(404, {"error": "not_found"})
        except _Refused as refused:
            self._refuse(refused, page=url.path == "/authorize")

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        self.provider.seen.append(f"POST {url.path}")
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8")))
        if url.path != "/token":
            self._json(404, {"error": "not_found"})
            return
        try:
            self._json(200, self.provider.token(form, self._basic()))
        except _Refused as refused:
            self._refuse(refused, page=False)

    def _basic(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return None
        decoded = base64.b64decode(header.removeprefix("Basic ")).decode("utf-8")
        client_id, _, client_secret = decoded.partition(":")
        unquote = urllib.parse.unquote_plus  # RFC 6749 §2.3.1: form-encoded, then Basic
        return unquote(client_id), unquote(client_secret)

    def _logout(self, query: dict[str, str]) -> None:
        back = query.get("post_logout_redirect_uri")
        if back is not None and back != self.provider.redirect_uri:
            raise _Refused("invalid_request", f"post_logout_redirect_uri {back!r}")
        if back is None:
            self._json(200, {"logged_out": True})
        else:
            self._redirect(back)

    def _refuse(self, refused: _Refused, *, page: bool) -> None:
        self.provider.refused.append(str(refused))
        if page:  # /authorize never redirects to an unverified redirect URI
            body = f"refused: {refused}".encode()
            self.send_response(400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        status = 401 if refused.error in {"invalid_client", "invalid_token"} else 400
        self._json(status, {"error": refused.error, "error_description": refused.description})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

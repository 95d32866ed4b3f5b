"""A local fake OpenID Connect provider: a real HTTP server on 127.0.0.1.

It serves what a client of Google's sign-in needs: the discovery document, the JWKS, the
authorization endpoint (which signs ``fake.user`` in at once and redirects back with a code) and
the token endpoint. Point the real client at ``fake.discovery_url``::

    with FakeOpenIdProvider(client_id="app", client_secret="secret") as fake:
        sign_in = GoogleSignIn(client_id="app", client_secret="secret",
                               discovery_url=fake.discovery_url)
        identity = await sign_in.verify_id_token(fake.id_token(sub="123"))

``id_token`` mints tokens with any claims and any key, including unsigned (``alg="none"``) and
HMAC ones, for the attacks a verifier must refuse. Tokens are signed with PyJWT, so the client
under test (joserfc, through authlib) is checked against another implementation.
Every request is recorded before it is answered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.local_http import LocalHttpFake

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks"
AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"

DEFAULT_USER: Mapping[str, Any] = {
    "sub": "108205723395729834112",
    "email": "asha@example.com",
    "email_verified": True,
    "name": "Asha Rao",
    "picture": "https://lh3.googleusercontent.com/a/asha",
}


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA key, e.g. one the provider never published."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class SigningKey:
    """A key the provider signs with and publishes in its JWKS."""

    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        """The JWKS entry for this key."""
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str  # without the query
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]  # names lower-cased


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    claims: dict[str, Any]


class FakeOpenIdProvider(LocalHttpFake):
    """An OpenID provider for one registered client, signing in ``user`` without asking."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        issuer: str | None = None,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        #: Claims of the account that signs in at the authorization endpoint.
        self.user: dict[str, Any] = dict(DEFAULT_USER)
        self.requests: list[RecordedRequest] = []
        self._issuer_override = issuer
        self._lock = threading.Lock()
        self._signing_key = SigningKey(kid=_new_kid(), private_key=generate_rsa_key())
        self._published: list[SigningKey] = [self._signing_key]
        self._grants: dict[str, _Grant] = {}
        self._failure: int | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    # --- addresses ---------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The ``issuer`` of the discovery document: the base URL unless overridden."""
        return self._issuer_override or self.base_url

    @property
    def discovery_url(self) -> str:
        """The URL of the discovery document."""
        return self.base_url + DISCOVERY_PATH

    @property
    def signing_key(self) -> SigningKey:
        """The key new tokens are signed with by default."""
        with self._lock:
            return self._signing_key

    def count(self, path: str) -> int:
        """How many requests reached ``path``."""
        with self._lock:
            return sum(1 for request in self.requests if request.path == path)

    # --- behaviour ---------------------------------------------------------------------------

    def rotate_keys(self, *, keep_previous: bool = False) -> SigningKey:
        """Sign with a new key from now on and publish it; drop the old one unless kept."""
        new_key = SigningKey(kid=_new_kid(), private_key=generate_rsa_key())
        with self._lock:
            self._published = [*self._published, new_key] if keep_previous else [new_key]
            self._signing_key = new_key
        return new_key

    def fail_with(self, status: int | None) -> None:
        """Answer every later request with ``status`` (``None``: behave normally again)."""
        with self._lock:
            self._failure = status

    def id_token(
        self,
        *,
        sub: str = DEFAULT_USER["sub"],
        email: str | None = DEFAULT_USER["email"],
        email_verified: bool | str = True,
        name: str | None = DEFAULT_USER["name"],
        picture: str | None = DEFAULT_USER["picture"],
        aud: str | list[str] | None = None,
        iss: str | None = None,
        exp_in: int = 3600,
        iat_in: int = 0,
        nonce: str | None = None,
        claims: Mapping[str, Any] | None = None,
        omit: Collection[str] = (),
        key: rsa.RSAPrivateKey | bytes | None = None,
        alg: str = "RS256",
        kid: str | None = None,
    ) -> str:
        """Mint an ID token as this provider would, with every part overridable.

        ``aud`` defaults to the client id, ``iss`` to the issuer, ``key``/``kid`` to the current
        signing key. ``claims`` adds or replaces claims, ``omit`` removes them. ``alg="none"``
        gives an unsigned token (header ``{"alg": "none"}``, empty signature); an ``HS*`` alg
        signs with ``key`` as the HMAC secret (bytes).
        """
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": iss if iss is not None else self.issuer,
            "azp": self.client_id,
            "aud": aud if aud is not None else self.client_id,
            "sub": sub,
            "email": email,
            "email_verified": email_verified,
            "name": name,
            "picture": picture,
            "iat": now + iat_in,
            "exp": now + exp_in,
        }
        if nonce is not None:
            payload["nonce"] = nonce
        payload.update(claims or {})
        payload = {
            claim: value
            for claim, value in payload.items()
            if claim not in omit and value is not None
        }
        if alg == "none":
            return _compact({"alg": "none"}, payload, b"")
        if alg.startswith("HS"):
            if not isinstance(key, bytes):
                raise TypeError("an HMAC-signed token needs key=<bytes>")
            # By hand: PyJWT refuses PEM-looking HMAC secrets, which is the attack under test.
            header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {})}
            signing_input = _signing_input(header, payload)
            digest = getattr(hashlib, "sha" + alg[2:])
            return _compact_signed(signing_input, hmac.new(key, signing_input, digest).digest())
        signing_key = self.signing_key
        if isinstance(key, bytes):
            raise TypeError(f"alg {alg} needs an RSA key")
        private_key = key if key is not None else signing_key.private_key
        return jwt.encode(
            payload,
            private_key,
            algorithm=alg,
            headers={"kid": kid if kid is not None else signing_key.kid},
        )

    def public_key_pem(self) -> bytes:
        """The current signing key's public half, PEM encoded (for key-confusion attacks)."""
        return self.signing_key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    # --- lifecycle ---------------------------------------------------------------------------

    # --- endpoints ---------------------------------------------------------------------------

    def _answer(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(request)
            failure = self._failure
        if failure is not None:
            return _json(failure, {"error": "server_error"})
        route = (request.method, request.path)
        if route == ("GET", DISCOVERY_PATH):
            return _json(200, self._discovery())
        if route == ("GET", JWKS_PATH):
            with self._lock:
                keys = [key.public_jwk() for key in self._published]
            return _json(200, {"keys": keys})
        if route == ("GET", AUTHORIZE_PATH):
            return self._authorize(request.query)
        if route == ("POST", TOKEN_PATH):
            return self._token(request)
        return _json(404, {"error": f"no fake for {request.method} {request.path}"})

    def _discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.base_url + AUTHORIZE_PATH,
            "token_endpoint": self.base_url + TOKEN_PATH,
            "jwks_uri": self.base_url + JWKS_PATH,
            "response_types_supported": ["code", "id_token", "code id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "sub"],
        }

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        # Like Google, refuse on an error page rather than redirecting to an unchecked URI.
        if query.get("client_id") != self.client_id:
            return _text(400, "invalid_client")
        redirect_uri = query.get("redirect_uri")
        if not redirect_uri:
            return _text(400, "missing redirect_uri")
        if query.get("response_type") != "code":
            return _text(400, "unsupported_response_type")
        if "openid" not in query.get("scope", "").split():
            return _text(400, "invalid_scope: openid is required")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                nonce=query.get("nonce"),
                claims=dict(self.user),
            )
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        return 302, {"Location": _add_query(redirect_uri, params)}, b""

    def _token(self, request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        client_id, client_secret = _client_credentials(request)
        if client_id != self.client_id or not hmac.compare_digest(
            client_secret or "", self.client_secret
        ):
            return _json(401, {"error": "invalid_client"})
        form = request.form
        if form.get("grant_type") != "authorization_code":
            return _json(400, {"error": "unsupported_grant_type"})
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # a code works once
        if grant is None:
            return _json(400, {"error": "invalid_grant", "error_description": "Bad code."})
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json(400, {"error": "invalid_grant", "error_description": "Bad redirect."})
        access_token = secrets.token_urlsafe(32)
        id_token = self.id_token(
            sub=grant.claims["sub"],
            email=grant.claims.get("email"),
            email_verified=grant.claims.get("email_verified", False),
            name=grant.claims.get("name"),
            picture=grant.claims.get("picture"),
            nonce=grant.nonce,
            claims={"at_hash": _at_hash(access_token)},
        )
        return _json(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 3599,
                "scope": "openid email profile",
                "id_token": id_token,
            },
        )


def _client_credentials(request: RecordedRequest) -> tuple[str | None, str | None]:
    authorization = request.headers.get("authorization", "")
    if authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
        except ValueError:
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        # RFC 6749 section 2.3.1: both parts are form-encoded before joining.
        return unquote(client_id.replace("+", " ")), unquote(client_secret.replace("+", " "))
    return request.form.get("client_id"), request.form.get("client_secret")


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return _b64(digest[: len(digest) // 2])


def _new_kid() -> str:
    return secrets.token_hex(8)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signing_input(header: Mapping[str, Any], payload: Mapping[str, Any]) -> bytes:
    parts = (json.dumps(header).encode(), json.dumps(payload).encode())
    return ".".join(_b64(part) for part in parts).encode("ascii")


def _compact(header: Mapping[str, Any], payload: Mapping[str, Any], signature: bytes) -> str:
    return _compact_signed(_signing_input(header, payload), signature)


def _compact_signed(signing_input: bytes, signature: bytes) -> str:
    return signing_input.decode("ascii") + "." + _b64(signature)


def _add_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _text(status: int, body: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, body.encode()


def _handler_for(fake: FakeOpenIdProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            recorded = RecordedRequest(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query)),
                form=dict(parse_qsl(raw.decode("utf-8", errors="replace"))),
                headers={name.lower(): value for name, value in self.headers.items()},
            )
            status, headers, body = fake._answer(recorded)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # Keep test output clean; the recorded requests are the log.
            pass

    return Handler

"""Sign-in with Google through OpenID Connect, with authlib.

Two ways in, both ending in a verified ``GoogleIdentity``:

- Google Identity Services: the browser gets an ID token from Google and sends it to us;
  ``verify_id_token`` checks it.
- The authorization code flow: ``authorization_url`` sends the browser to Google, and the
  callback hands the code to ``exchange_code``, which redeems it and verifies the ID token.

The web layer keeps ``state`` and ``nonce`` (in a signed, short-lived cookie) and compares
``state`` itself. Any provider with a discovery document works, which is how the tests run the
real code paths against a local fake provider.

This module deliberately imports nothing from the project.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    # authlib announces a future rename of its httpx client on import; nothing to act on yet.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

__all__ = [
    "GOOGLE_DISCOVERY_URL",
    "GoogleIdentity",
    "GoogleSignIn",
    "GoogleSignInError",
    "GoogleSignInErrorCode",
]

logger = logging.getLogger("commerce.google")

GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"
_GOOGLE_ISSUER = "https://accounts.google.com"
# Google documents both spellings as the "iss" of its ID tokens.
_GOOGLE_ISSUERS = [_GOOGLE_ISSUER, "accounts.google.com"]
_SCOPE = "openid email profile"
# Pinned rather than read from discovery, so a document can never widen what we accept.
_SIGNING_ALGORITHMS = ["RS256"]
_CACHE_TTL = 3600.0
# A forged token can name any kid; this bounds how often that makes us fetch the keys again.
_KEY_REFETCH_COOLDOWN = 60.0
# While the provider is unreachable, cached keys are used and a refresh is tried this often.
_RETRY_AFTER_FAILURE = 60.0
_CLOCK_SKEW_LEEWAY = 60
# Token endpoint errors caused by the code the browser brought; the others mean our setup is wrong.
_CODE_ERRORS = frozenset({"invalid_grant", "invalid_request"})

GoogleSignInErrorCode = Literal[
    "INVALID_GOOGLE_TOKEN", "GOOGLE_UNAVAILABLE", "GOOGLE_STATE_MISMATCH"
]


@dataclass(frozen=True)
class GoogleIdentity:
    """The verified account behind an ID token."""

    subject: str  # Google's stable account id ("sub"); emails can change hands
    email: str
    email_verified: bool
    name: str | None
    picture: str | None


class GoogleSignInError(Exception):
    """Sign-in with Google failed; ``code`` is the API error code, the message is for logs.

    ``GOOGLE_STATE_MISMATCH`` is raised by the web layer, which owns the ``state`` check.
    """

    def __init__(self, code: GoogleSignInErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: GoogleSignInErrorCode = code


@dataclass(frozen=True)
class _Provider:
    """What discovery and the JWKS said, and until when (``clock`` time) to trust it."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    keys: KeySet
    expires_at: float


class GoogleSignIn:
    """OpenID Connect with Google (or any provider with a discovery document, for tests).

    The discovery document and the signing keys are cached in memory for an hour; a token
    signed with a key id we do not know makes us fetch the keys once more. One instance serves
    the whole application, on one event loop. ``clock`` (monotonic seconds) times the cache;
    tests pass their own.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        discovery_url: str = GOOGLE_DISCOVERY_URL,
        http_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id:
            raise ValueError("GoogleSignIn needs a client id")
        self._client_id = client_id
        self._client_secret = client_secret
        self._discovery_url = discovery_url
        self._http_timeout = http_timeout
        self._clock = clock
        self._provider: _Provider | None = None
        self._last_key_refetch: float | None = None
        # One fetch at a time: a cold start under load must not stampede the provider.
        self._lock = asyncio.Lock()

    async def verify_id_token(self, id_token: str, *, nonce: str | None = None) -> GoogleIdentity:
        """Verify an ID token from Google Identity Services and return who signed in.

        Checks the RS256 signature against the provider's keys, ``iss``, ``aud`` (our client
        id), ``exp`` (with a minute of leeway for clock skew), ``iat`` and, when ``nonce`` is
        given, the ``nonce`` claim. Raises ``GoogleSignInError`` with ``INVALID_GOOGLE_TOKEN``
        when the token fails any check, ``GOOGLE_UNAVAILABLE`` when the provider cannot be
        reached.
        """
        if nonce is not None and not nonce:
            raise ValueError("nonce must be a non-empty string or None")
        return await self._verify(id_token, nonce=nonce, access_token=None)

    async def authorization_url(self, *, redirect_uri: str, state: str, nonce: str) -> str:
        """Return the provider's URL to send the browser to, asking for a code.

        Requests the ``openid email profile`` scope. Raises ``GoogleSignInError``
        (``GOOGLE_UNAVAILABLE``) when the discovery document cannot be loaded.
        """
        if not (state and nonce):
            raise ValueError("state and nonce must be non-empty")
        provider = await self._current_provider()
        url: str = prepare_grant_uri(
            provider.authorization_endpoint,
            client_id=self._client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=_SCOPE,
            state=state,
            nonce=nonce,
        )
        return url

    async def exchange_code(self, *, code: str, redirect_uri: str, nonce: str) -> GoogleIdentity:
        """Redeem an authorization code and return who signed in.

        ``redirect_uri`` must be the one given to ``authorization_url`` and ``nonce`` the one
        kept for this browser. The returned ID token is verified like ``verify_id_token`` does,
        plus its ``at_hash`` when present. Raises ``GoogleSignInError``: ``INVALID_GOOGLE_TOKEN``
        for a bad, used or expired code or a token that fails a check, ``GOOGLE_UNAVAILABLE``
        when the provider cannot be reached or rejects our client credentials.
        """
        if not nonce:
            raise ValueError("nonce must be non-empty")
        provider = await self._current_provider()
        try:
            async with AsyncOAuth2Client(
                client_id=self._client_id,
                client_secret=self._client_secret,
                redirect_uri=redirect_uri,
                timeout=self._http_timeout,
            ) as client:
                token: dict[str, Any] = await client.fetch_token(
                    provider.token_endpoint, grant_type="authorization_code", code=code
                )
        except AuthlibBaseError as exc:
            if exc.error in _CODE_ERRORS:
                raise GoogleSignInError(
                    "INVALID_GOOGLE_TOKEN", f"The code was refused: {exc}"
                ) from exc
            logger.error("The token endpoint refused our client: %s", exc)
            raise GoogleSignInError(
                "GOOGLE_UNAVAILABLE", f"The token endpoint refused our client: {exc}"
            ) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise GoogleSignInError(
                "GOOGLE_UNAVAILABLE", f"The token endpoint failed: {exc!r}"
            ) from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise GoogleSignInError("INVALID_GOOGLE_TOKEN", "The token response has no id_token")
        access_token = token.get("access_token")
        return await self._verify(
            id_token,
            nonce=nonce,
            access_token=access_token if isinstance(access_token, str) else None,
        )

    # --- verification ------------------------------------------------------------------------

    async def _verify(
        self, id_token: str, *, nonce: str | None, access_token: str | None
    ) -> GoogleIdentity:
        provider = await self._current_provider()
        try:
            try:
                token = _decode(id_token, provider.keys)
            except InvalidKeyIdError:
                # Providers rotate keys; a new kid may be published after our last fetch.
                refreshed = await self._refetch_keys(provider)
                if refreshed is None:
                    raise
                token = _decode(id_token, refreshed.keys)
            claims = CodeIDToken(
                token.claims,
                token.header,
                {
                    "iss": {"essential": True, "values": _accepted_issuers(provider.issuer)},
                    "aud": {"essential": True, "value": self._client_id},
                },
                {"client_id": self._client_id, "nonce": nonce, "access_token": access_token},
            )
            claims.validate(leeway=_CLOCK_SKEW_LEEWAY)
        except (JoseError, ValueError) as exc:
            raise GoogleSignInError("INVALID_GOOGLE_TOKEN", f"Invalid ID token: {exc}") from exc
        return _identity(claims)

    async def _current_provider(self) -> _Provider:
        provider = self._provider
        if provider is not None and self._clock() < provider.expires_at:
            return provider
        async with self._lock:
            provider = self._provider
            if provider is not None and self._clock() < provider.expires_at:
                return provider
            try:
                self._provider = await self._fetch_provider()
            except GoogleSignInError as exc:
                if provider is None:
                    raise
                # Keys stay published for days around a rotation, so stale ones are still good.
                logger.warning("Keeping the cached OpenID configuration: %s", exc)
                self._provider = replace(provider, expires_at=self._clock() + _RETRY_AFTER_FAILURE)
            return self._provider

    async def _refetch_keys(self, seen: _Provider) -> _Provider | None:
        """The provider with freshly fetched keys, or None when they were refetched recently."""
        async with self._lock:
            current = self._provider
            if current is not None and current is not seen:
                return current  # refreshed while we waited for the lock
            now = self._clock()
            if self._last_key_refetch is not None and (
                now - self._last_key_refetch < _KEY_REFETCH_COOLDOWN
            ):
                return None
            self._last_key_refetch = now
            self._provider = replace(seen, keys=await self._fetch_keys(seen.jwks_uri))
            return self._provider

    async def _fetch_provider(self) -> _Provider:
        document = await self._get_json(self._discovery_url)
        endpoints = {}
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str) or not value:
                raise GoogleSignInError(
                    "GOOGLE_UNAVAILABLE", f"The discovery document has no {name}"
                )
            endpoints[name] = value
        keys = await self._fetch_keys(endpoints["jwks_uri"])
        return _Provider(**endpoints, keys=keys, expires_at=self._clock() + _CACHE_TTL)

    async def _fetch_keys(self, jwks_uri: str) -> KeySet:
        document = await self._get_json(jwks_uri)
        try:
            return KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise GoogleSignInError(
                "GOOGLE_UNAVAILABLE", f"The JWKS at {jwks_uri} is unusable: {exc!r}"
            ) from exc

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self._http_timeout) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise GoogleSignInError("GOOGLE_UNAVAILABLE", f"GET {url} failed: {exc!r}") from exc
        if not isinstance(document, dict):
            raise GoogleSignInError("GOOGLE_UNAVAILABLE", f"GET {url} did not return an object")
        return document


def _decode(id_token: str, keys: KeySet) -> jwt.Token:
    # Not strict about header names, like authlib's own OpenID client: providers add some.
    registry = JWSRegistry(algorithms=_SIGNING_ALGORITHMS, strict_check_header=False)
    return jwt.decode(id_token, keys, registry=registry)


def _accepted_issuers(issuer: str) -> list[str]:
    return _GOOGLE_ISSUERS if issuer == _GOOGLE_ISSUER else [issuer]


def _identity(claims: dict[str, Any]) -> GoogleIdentity:
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        # Without the email scope there is nothing to match or create an account with.
        raise GoogleSignInError("INVALID_GOOGLE_TOKEN", "The ID token has no email")
    subject = claims["sub"]
    if not subject:
        raise GoogleSignInError("INVALID_GOOGLE_TOKEN", "The ID token has an empty sub")
    name = claims.get("name")
    picture = claims.get("picture")
    return GoogleIdentity(
        subject=subject,
        email=email,
        # Some older Google responses carried the string "true" instead of a JSON boolean.
        email_verified=claims.get("email_verified") in (True, "true"),
        name=name if isinstance(name, str) else None,
        picture=picture if isinstance(picture, str) else None,
    )

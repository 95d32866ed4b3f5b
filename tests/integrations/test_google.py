"""Tests for sign-in with Google: the real authlib code paths against a local fake provider."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from integrations.google import GoogleIdentity, GoogleSignIn, GoogleSignInError
from integrations.local_servers import free_port
from tests.fakes.oidc import (
    AUTHORIZE_PATH,
    DEFAULT_USER,
    DISCOVERY_PATH,
    JWKS_PATH,
    TOKEN_PATH,
    FakeOpenIdProvider,
    generate_rsa_key,
)

CLIENT_ID = "shop-web.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test-secret"
REDIRECT_URI = "https://shop.example.com/auth/google/callback"
STATE = "state-5kq2v8"
NONCE = "nonce-x81vq3"
ASHA = GoogleIdentity(
    subject=DEFAULT_USER["sub"],
    email=DEFAULT_USER["email"],
    email_verified=True,
    name=DEFAULT_USER["name"],
    picture=DEFAULT_USER["picture"],
)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def provider() -> Iterator[FakeOpenIdProvider]:
    with FakeOpenIdProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sign_in(provider: FakeOpenIdProvider, clock: FakeClock) -> GoogleSignIn:
    return GoogleSignIn(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        discovery_url=provider.discovery_url,
        clock=clock,
    )


async def _error_code(call: Awaitable[GoogleIdentity]) -> str:
    with pytest.raises(GoogleSignInError) as raised:
        await call
    return raised.value.code


def _b64_json(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


# --- verify_id_token ---------------------------------------------------------------------------


async def test_a_valid_id_token_gives_the_identity(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    identity = await sign_in.verify_id_token(provider.id_token())

    assert identity == ASHA


async def test_missing_profile_claims_and_unverified_email_are_reported_as_such(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    token = provider.id_token(
        sub="42", email="bo@example.com", email_verified=False, name=None, picture=None
    )

    identity = await sign_in.verify_id_token(token)

    assert identity == GoogleIdentity(
        subject="42", email="bo@example.com", email_verified=False, name=None, picture=None
    )


async def test_a_token_expired_within_the_clock_skew_leeway_is_accepted(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    identity = await sign_in.verify_id_token(provider.id_token(exp_in=-30))

    assert identity.subject == ASHA.subject


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp_in": -3600}, id="expired"),
        pytest.param({"aud": "someone-else.apps.googleusercontent.com"}, id="wrong-audience"),
        pytest.param(
            {
                "aud": ["other.apps.googleusercontent.com", CLIENT_ID],
                "claims": {"azp": "other.apps.googleusercontent.com"},
            },
            id="issued-to-another-party",
        ),
        pytest.param({"iss": "https://evil.example.com"}, id="wrong-issuer"),
        pytest.param({"omit": ["iat"]}, id="no-iat"),
        pytest.param({"iat_in": 3600}, id="issued-in-the-future"),
        pytest.param({"omit": ["sub"]}, id="no-sub"),
        pytest.param({"email": None}, id="no-email"),
    ],
)
async def test_tokens_with_bad_claims_are_invalid(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn, overrides: dict[str, Any]
) -> None:
    token = provider.id_token(**overrides)

    assert await _error_code(sign_in.verify_id_token(token)) == "INVALID_GOOGLE_TOKEN"


async def test_the_nonce_must_match_when_one_is_expected(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    assert await sign_in.verify_id_token(provider.id_token(nonce=NONCE), nonce=NONCE) == ASHA

    wrong = sign_in.verify_id_token(provider.id_token(nonce="another-nonce"), nonce=NONCE)
    missing = sign_in.verify_id_token(provider.id_token(), nonce=NONCE)

    assert await _error_code(wrong) == "INVALID_GOOGLE_TOKEN"
    assert await _error_code(missing) == "INVALID_GOOGLE_TOKEN"


async def test_an_unsigned_token_is_invalid(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    token = provider.id_token(alg="none")
    assert token.endswith(".")

    assert await _error_code(sign_in.verify_id_token(token)) == "INVALID_GOOGLE_TOKEN"
    assert provider.count(JWKS_PATH) == 1


async def test_a_token_signed_with_the_public_key_as_an_hmac_secret_is_invalid(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    token = provider.id_token(
        alg="HS256", key=provider.public_key_pem(), kid=provider.signing_key.kid
    )

    assert await _error_code(sign_in.verify_id_token(token)) == "INVALID_GOOGLE_TOKEN"


async def test_a_validly_signed_token_with_another_algorithm_is_invalid(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    token = provider.id_token(alg="RS512")

    assert await _error_code(sign_in.verify_id_token(token)) == "INVALID_GOOGLE_TOKEN"


async def test_a_tampered_payload_is_invalid(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    header, payload, signature = provider.id_token().split(".")
    claims = _b64_json(payload) | {"email": "mallory@example.com"}
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    result = sign_in.verify_id_token(f"{header}.{forged}.{signature}")

    assert await _error_code(result) == "INVALID_GOOGLE_TOKEN"


async def test_a_token_signed_by_an_unknown_key_under_a_known_kid_is_invalid(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    token = provider.id_token(key=generate_rsa_key())

    assert await _error_code(sign_in.verify_id_token(token)) == "INVALID_GOOGLE_TOKEN"
    assert provider.count(JWKS_PATH) == 1


async def test_an_unknown_kid_refetches_the_keys_once_then_is_invalid(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn, clock: FakeClock
) -> None:
    forged = provider.id_token(key=generate_rsa_key(), kid="attacker-kid-1")

    assert await _error_code(sign_in.verify_id_token(forged)) == "INVALID_GOOGLE_TOKEN"
    assert provider.count(JWKS_PATH) == 2

    # Within the cooldown another unknown kid costs no fetch; after it, one more.
    again = provider.id_token(key=generate_rsa_key(), kid="attacker-kid-2")
    assert await _error_code(sign_in.verify_id_token(again)) == "INVALID_GOOGLE_TOKEN"
    assert provider.count(JWKS_PATH) == 2
    clock.advance(61)
    assert await _error_code(sign_in.verify_id_token(again)) == "INVALID_GOOGLE_TOKEN"
    assert provider.count(JWKS_PATH) == 3


async def test_after_key_rotation_a_token_with_the_new_kid_verifies_after_one_refetch(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    await sign_in.verify_id_token(provider.id_token())
    new_key = provider.rotate_keys()

    token = provider.id_token()
    identity = await sign_in.verify_id_token(token)
    await sign_in.verify_id_token(provider.id_token(sub="7"))

    assert _b64_json(token.split(".")[0])["kid"] == new_key.kid
    assert identity == ASHA
    assert provider.count(JWKS_PATH) == 2
    assert provider.count(DISCOVERY_PATH) == 1


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "a.b.c", "e30.e30.", "ey\u00e9.\u00e9.\u00e9", "." * 3],
    ids=["empty", "one-part", "garbage", "empty-objects", "non-ascii", "dots"],
)
async def test_malformed_tokens_are_invalid(sign_in: GoogleSignIn, token: str) -> None:
    assert await _error_code(sign_in.verify_id_token(token)) == "INVALID_GOOGLE_TOKEN"


async def test_google_issuer_is_accepted_with_and_without_scheme() -> None:
    with FakeOpenIdProvider(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, issuer="https://accounts.google.com"
    ) as google:
        sign_in = GoogleSignIn(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, discovery_url=google.discovery_url
        )

        with_scheme = await sign_in.verify_id_token(google.id_token())
        without_scheme = await sign_in.verify_id_token(google.id_token(iss="accounts.google.com"))

    assert with_scheme == without_scheme == ASHA


async def test_other_issuers_are_not_accepted_without_scheme(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    bare = provider.issuer.removeprefix("http://")

    assert await _error_code(sign_in.verify_id_token(provider.id_token(iss=bare))) == (
        "INVALID_GOOGLE_TOKEN"
    )


# --- discovery and key caching -----------------------------------------------------------------


async def test_an_unreachable_provider_is_unavailable() -> None:
    sign_in = GoogleSignIn(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        discovery_url=f"http://127.0.0.1:{free_port()}{DISCOVERY_PATH}",
    )

    assert await _error_code(sign_in.verify_id_token("a.b.c")) == "GOOGLE_UNAVAILABLE"


async def test_a_failing_provider_is_unavailable(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    provider.fail_with(503)

    assert await _error_code(sign_in.verify_id_token(provider.id_token())) == "GOOGLE_UNAVAILABLE"


async def test_discovery_and_keys_are_cached_for_an_hour(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn, clock: FakeClock
) -> None:
    await sign_in.verify_id_token(provider.id_token())
    clock.advance(3599)
    await sign_in.verify_id_token(provider.id_token())
    assert (provider.count(DISCOVERY_PATH), provider.count(JWKS_PATH)) == (1, 1)

    clock.advance(2)
    await sign_in.verify_id_token(provider.id_token())

    assert (provider.count(DISCOVERY_PATH), provider.count(JWKS_PATH)) == (2, 2)


async def test_concurrent_first_sign_ins_fetch_discovery_and_keys_once(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    tokens = [provider.id_token(sub=str(number)) for number in range(10)]

    identities = await asyncio.gather(*(sign_in.verify_id_token(token) for token in tokens))

    assert [identity.subject for identity in identities] == [str(n) for n in range(10)]
    assert (provider.count(DISCOVERY_PATH), provider.count(JWKS_PATH)) == (1, 1)


async def test_cached_keys_keep_working_while_the_provider_is_down(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn, clock: FakeClock
) -> None:
    token = provider.id_token()
    await sign_in.verify_id_token(token)
    clock.advance(3601)
    provider.fail_with(503)

    assert await sign_in.verify_id_token(token) == ASHA
    assert await sign_in.verify_id_token(token) == ASHA
    assert provider.count(DISCOVERY_PATH) == 2  # retried once, then not again for a while


# --- authorization code flow -------------------------------------------------------------------


async def _browser_signs_in(sign_in: GoogleSignIn, *, nonce: str = NONCE) -> dict[str, str]:
    """Follow the authorization URL like a browser; return the callback's query."""
    url = await sign_in.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, nonce=nonce)
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        response = await browser.get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return dict(parse_qsl(location.query))


async def test_the_authorization_url_asks_the_provider_for_a_code(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    url = urlsplit(
        await sign_in.authorization_url(redirect_uri=REDIRECT_URI, state=STATE, nonce=NONCE)
    )

    assert f"{url.scheme}://{url.netloc}{url.path}" == provider.base_url + AUTHORIZE_PATH
    assert dict(parse_qsl(url.query)) == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": STATE,
        "nonce": NONCE,
    }


async def test_the_code_flow_gives_the_identity(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    provider.user = {**DEFAULT_USER, "sub": "555", "email": "ravi@example.com", "name": "Ravi"}

    callback = await _browser_signs_in(sign_in)
    identity = await sign_in.exchange_code(
        code=callback["code"], redirect_uri=REDIRECT_URI, nonce=NONCE
    )

    assert callback["state"] == STATE
    assert identity == GoogleIdentity(
        subject="555",
        email="ravi@example.com",
        email_verified=True,
        name="Ravi",
        picture=DEFAULT_USER["picture"],
    )
    [token_request] = [request for request in provider.requests if request.path == TOKEN_PATH]
    assert token_request.headers["authorization"].startswith("Basic ")
    assert token_request.form == {
        "grant_type": "authorization_code",
        "code": callback["code"],
        "redirect_uri": REDIRECT_URI,
    }


async def test_exchange_code_rejects_a_nonce_mismatch(sign_in: GoogleSignIn) -> None:
    callback = await _browser_signs_in(sign_in, nonce="nonce-of-another-browser")

    result = sign_in.exchange_code(code=callback["code"], redirect_uri=REDIRECT_URI, nonce=NONCE)

    assert await _error_code(result) == "INVALID_GOOGLE_TOKEN"


async def test_a_code_works_only_once(sign_in: GoogleSignIn) -> None:
    code = (await _browser_signs_in(sign_in))["code"]
    await sign_in.exchange_code(code=code, redirect_uri=REDIRECT_URI, nonce=NONCE)

    again = sign_in.exchange_code(code=code, redirect_uri=REDIRECT_URI, nonce=NONCE)

    assert await _error_code(again) == "INVALID_GOOGLE_TOKEN"


async def test_exchange_code_rejects_another_redirect_uri(sign_in: GoogleSignIn) -> None:
    code = (await _browser_signs_in(sign_in))["code"]

    result = sign_in.exchange_code(
        code=code, redirect_uri="https://evil.example.com/callback", nonce=NONCE
    )

    assert await _error_code(result) == "INVALID_GOOGLE_TOKEN"


async def test_a_wrong_client_secret_makes_google_unavailable(
    provider: FakeOpenIdProvider,
) -> None:
    sign_in = GoogleSignIn(
        client_id=CLIENT_ID, client_secret="wrong", discovery_url=provider.discovery_url
    )
    code = (await _browser_signs_in(sign_in))["code"]

    result = sign_in.exchange_code(code=code, redirect_uri=REDIRECT_URI, nonce=NONCE)

    assert await _error_code(result) == "GOOGLE_UNAVAILABLE"


async def test_a_failing_token_endpoint_makes_google_unavailable(
    provider: FakeOpenIdProvider, sign_in: GoogleSignIn
) -> None:
    code = (await _browser_signs_in(sign_in))["code"]
    provider.fail_with(500)

    result = sign_in.exchange_code(code=code, redirect_uri=REDIRECT_URI, nonce=NONCE)

    assert await _error_code(result) == "GOOGLE_UNAVAILABLE"

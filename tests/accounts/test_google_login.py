"""Sign-in with Google: `googleLogin(idToken)` and the browser redirect flow under /auth/google,
through the real authlib code against a local fake OpenID provider."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from strawberry import relay

from documents.accounts import AuthSession, User, password_matches
from integrations.google import GoogleSignIn
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.fakes.oidc import (
    AUTHORIZE_PATH,
    DEFAULT_USER,
    TOKEN_PATH,
    FakeOpenIdProvider,
    generate_rsa_key,
)
from tests.support import LOGIN, error_codes, graphql, login, payload_codes

CLIENT_ID = "shop-web.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-test-secret"
SUBJECT = DEFAULT_USER["sub"]
STATE_COOKIE = "google_oauth"

GOOGLE_LOGIN = """
mutation GoogleLogin($idToken: String!) {
  googleLogin(idToken: $idToken) {
    accessToken refreshToken
    user { id email name emailVerified hasPassword googleLinked role }
    errors { field code message }
  }
}
"""
REFRESH_FROM_COOKIE = """
mutation { refreshToken { accessToken refreshToken user { email googleLinked } errors { code } } }
"""
ME = "{ me { email googleLinked } }"


@pytest.fixture
def google(replace_services: Callable[..., None]) -> Iterator[FakeOpenIdProvider]:
    """A fake Google, and the app's sign-in client pointed at it."""
    with FakeOpenIdProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake:
        replace_services(
            google=GoogleSignIn(
                client_id=CLIENT_ID, client_secret=CLIENT_SECRET, discovery_url=fake.discovery_url
            )
        )
        yield fake


async def google_login(client: httpx.AsyncClient, id_token: str) -> dict[str, Any]:
    body = await graphql(client, GOOGLE_LOGIN, {"idToken": id_token})
    payload: dict[str, Any] = body["data"]["googleLogin"]
    return payload


def codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def stored_users() -> list[dict[str, Any]]:
    return await User.get_pymongo_collection().find({}, sort=[("_id", 1)]).to_list()


# --- googleLogin(idToken) ---------------------------------------------------------------------


async def test_a_new_google_user_gets_a_verified_account_without_a_password(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    payload = await google_login(client, google.id_token())

    assert payload["errors"] == []
    assert payload["user"] == {
        "id": payload["user"]["id"],
        "email": "asha@example.com",
        "name": "Asha Rao",
        "emailVerified": True,
        "hasPassword": False,
        "googleLinked": True,
        "role": "USER",
    }
    assert payload["refreshToken"]
    me = await graphql(client, ME, token=payload["accessToken"])
    assert me["data"]["me"] == {"email": "asha@example.com", "googleLinked": True}
    stored = await User.find_one(User.email == "asha@example.com")
    assert stored is not None
    assert (stored.google_subject, stored.password_hash) == (SUBJECT, None)


async def test_a_google_account_without_a_name_is_not_named_after_its_email(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    payload = await google_login(client, google.id_token(name=None))

    assert payload["errors"] == []
    assert payload["user"]["name"] == "Customer"  # shown publicly, on reviews


async def test_the_same_google_account_signs_in_to_the_same_account_even_with_a_new_email(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    first = await google_login(client, google.id_token())

    again = await google_login(client, google.id_token())
    # The subject identifies the Google account; its email address may change.
    renamed = await google_login(client, google.id_token(email="asha.rao@example.com"))

    assert again["errors"] == renamed["errors"] == []
    assert again["user"]["id"] == renamed["user"]["id"] == first["user"]["id"]
    assert renamed["user"]["email"] == "asha@example.com"
    assert again["refreshToken"] != first["refreshToken"]
    assert await User.count() == 1
    assert await AuthSession.count() == 3


async def test_a_verified_password_account_with_the_same_email_is_linked_and_keeps_its_password(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    existing = await make_user("asha@example.com", name="Asha", email_verified=True)

    payload = await google_login(client, google.id_token(email="Asha@Example.com"))

    assert payload["errors"] == []
    assert payload["user"]["id"] == str(relay.GlobalID("User", str(existing.id)))
    user = payload["user"]
    assert (user["emailVerified"], user["hasPassword"], user["googleLinked"]) == (True, True, True)
    stored = await User.get(existing.id)
    assert stored is not None
    assert (stored.google_subject, stored.email_verified, stored.name) == (SUBJECT, True, "Asha")
    assert password_matches(DEFAULT_PASSWORD, stored.password_hash, rounds=4)
    assert (await login(client, "asha@example.com", DEFAULT_PASSWORD))["user"]["email"] == (
        "asha@example.com"
    )
    assert await User.count() == 1


async def test_an_unverified_account_claimed_through_google_loses_the_registrants_access(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    # Someone registered the owner's address in advance and is signed in with it.
    squatter = await make_user("asha@example.com", email_verified=False)
    squatter_tokens = await login(client, "asha@example.com", DEFAULT_PASSWORD)

    payload = await google_login(client, google.id_token(email="asha@example.com"))

    assert payload["errors"] == []
    assert payload["user"]["hasPassword"] is False
    stored = await User.get(squatter.id)
    assert stored is not None
    assert (stored.google_subject, stored.email_verified, stored.password_hash) == (
        SUBJECT,
        True,
        None,
    )
    me = await graphql(client, "{ me { email } }", token=squatter_tokens["accessToken"])
    assert error_codes(me) == ["UNAUTHENTICATED"]
    relogin = await graphql(
        client, LOGIN, {"input": {"email": "asha@example.com", "password": DEFAULT_PASSWORD}}
    )
    assert payload_codes(relogin, "login") == ["INVALID_CREDENTIALS"]


async def test_an_account_read_unlinked_but_linked_meanwhile_is_not_taken_over(
    client: httpx.AsyncClient, google: FakeOpenIdProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = await make_user("asha@example.com")
    read, release = asyncio.Event(), asyncio.Event()
    original_find_one = User.find_one

    class HeldQuery:
        """`User.find_one(...)`: the first account it finds is handed over only on `release`."""

        def __init__(self, query: Any) -> None:
            self._query = query

        def __getattr__(self, name: str) -> Any:  # chained calls (`.update(...)`) pass through
            return getattr(self._query, name)

        def __await__(self) -> Any:
            return self._held().__await__()

        async def _held(self) -> Any:
            found = await self._query
            if found is not None and not read.is_set():
                read.set()
                await release.wait()
            return found

    monkeypatch.setattr(
        User, "find_one", staticmethod(lambda *a, **k: HeldQuery(original_find_one(*a, **k)))
    )
    first = asyncio.create_task(google_login(client, google.id_token(sub="google-account-1")))
    await read.wait()
    second = await google_login(client, google.id_token(sub="google-account-2"))
    release.set()

    assert second["errors"] == []
    assert codes(await first) == [(None, "GOOGLE_ACCOUNT_CONFLICT")]
    stored = await User.get(existing.id)
    assert stored is not None
    assert stored.google_subject == "google-account-2"
    assert await AuthSession.count() == 1


async def test_an_email_google_has_not_verified_creates_or_links_nothing(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    await make_user("bo@example.com")
    before = await stored_users()

    for email in ("asha@example.com", "bo@example.com"):
        payload = await google_login(client, google.id_token(email=email, email_verified=False))

        assert codes(payload) == [(None, "GOOGLE_EMAIL_NOT_VERIFIED")], email
        assert payload["accessToken"] is None
    assert await stored_users() == before
    assert await AuthSession.count() == 0


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda fake: "not-a-jwt", id="garbage"),
        pytest.param(lambda fake: fake.id_token(exp_in=-3600), id="expired"),
        pytest.param(
            lambda fake: fake.id_token(aud="another-app.example.com"), id="wrong-audience"
        ),
        pytest.param(lambda fake: fake.id_token(iss="https://evil.example.com"), id="wrong-issuer"),
        pytest.param(lambda fake: fake.id_token(alg="none"), id="unsigned"),
        pytest.param(
            lambda fake: fake.id_token(key=generate_rsa_key()),
            id="forged-signature",
        ),
    ],
)
async def test_a_token_that_fails_verification_is_an_invalid_google_token(
    client: httpx.AsyncClient, google: FakeOpenIdProvider, make_token: Callable[[Any], str]
) -> None:
    payload = await google_login(client, make_token(google))

    assert codes(payload) == [("idToken", "INVALID_GOOGLE_TOKEN")]
    assert payload["accessToken"] is None
    assert await User.count() == 0
    assert await AuthSession.count() == 0


async def test_a_disabled_linked_account_cannot_sign_in_with_google(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    await make_user("asha@example.com", google_subject=SUBJECT, disabled=True)
    before = await stored_users()

    payload = await google_login(client, google.id_token())

    assert codes(payload) == [(None, "ACCOUNT_DISABLED")]
    assert payload["accessToken"] is None
    assert await stored_users() == before
    assert await AuthSession.count() == 0


async def test_a_disabled_account_with_the_same_email_is_refused_and_not_linked(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    await make_user("asha@example.com", disabled=True)
    before = await stored_users()

    payload = await google_login(client, google.id_token())

    assert codes(payload) == [(None, "ACCOUNT_DISABLED")]
    assert await stored_users() == before
    assert await AuthSession.count() == 0


async def test_an_email_linked_to_another_google_account_is_a_conflict(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    await make_user("asha@example.com", google_subject="another-google-account")
    before = await stored_users()

    payload = await google_login(client, google.id_token())

    assert codes(payload) == [(None, "GOOGLE_ACCOUNT_CONFLICT")]
    assert await stored_users() == before


async def test_google_login_without_google_configured_is_refused(
    client: httpx.AsyncClient, replace_services: Callable[..., None]
) -> None:
    replace_services(google=None)

    payload = await google_login(client, "any.token.at-all")

    assert codes(payload) == [(None, "GOOGLE_NOT_CONFIGURED")]
    assert await User.count() == 0


# --- the redirect flow ------------------------------------------------------------------------


def set_cookies(response: httpx.Response) -> SimpleCookie:
    """The cookies a response sets, with their attributes."""
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookies.load(header)
    return cookies


async def start_redirect(client: httpx.AsyncClient) -> tuple[httpx.Response, str]:
    """GET /auth/google/login; the response and the value of its state cookie."""
    response = await client.get("/auth/google/login")
    assert response.status_code == 303, response.text
    return response, set_cookies(response)[STATE_COOKIE].value


async def consent_at_google(authorization_url: str) -> dict[str, str]:
    """What a browser does at the (fake) provider: it signs in at once and redirects back.
    The query of that redirect, and the URL it points at."""
    async with httpx.AsyncClient(trust_env=False) as browser:
        response = await browser.get(authorization_url)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["location"])
    return {"url": f"{back.scheme}://{back.netloc}{back.path}", **dict(parse_qsl(back.query))}


async def callback(
    client: httpx.AsyncClient, query: dict[str, str], state_cookie: str | None
) -> httpx.Response:
    # The cookie is sent by hand: it is Secure (outside development), and the test client is http.
    headers = {"cookie": f"{STATE_COOKIE}={state_cookie}"} if state_cookie else {}
    return await client.get("/auth/google/callback", params=query, headers=headers)


async def test_the_redirect_flow_signs_in_with_a_refresh_cookie(
    client: httpx.AsyncClient, google: FakeOpenIdProvider, settings: Settings
) -> None:
    started, state_cookie = await start_redirect(client)
    location = urlsplit(started.headers["location"])
    sent = dict(parse_qsl(location.query))
    expected_callback = f"{settings.public_url}/auth/google/callback"
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        google.base_url + AUTHORIZE_PATH
    )
    assert sent["client_id"] == CLIENT_ID
    assert sent["redirect_uri"] == expected_callback
    assert sent["response_type"] == "code"
    assert set(sent["scope"].split()) == {"openid", "email", "profile"}
    assert sent["state"]
    assert sent["nonce"]
    cookie = set_cookies(started)[STATE_COOKIE]
    assert (cookie["path"], cookie["httponly"], cookie["samesite"].lower()) == (
        "/auth/google",
        True,
        "lax",
    )
    back = await consent_at_google(started.headers["location"])
    assert back["url"] == expected_callback
    assert back["state"] == sent["state"]

    response = await callback(client, {"code": back["code"], "state": back["state"]}, state_cookie)

    assert response.status_code == 303
    assert response.headers["location"] == settings.frontend_url
    cookies = set_cookies(response)
    refresh_cookie = cookies[settings.refresh_cookie_name]
    assert (refresh_cookie["path"], refresh_cookie["httponly"]) == ("/graphql", True)
    assert cookies[STATE_COOKIE].value == ""  # the state is spent
    token_request = next(r for r in google.requests if r.path == TOKEN_PATH)
    assert token_request.form["redirect_uri"] == expected_callback
    stored = await User.find_one(User.email == "asha@example.com")
    assert stored is not None
    assert (stored.google_subject, stored.email_verified) == (SUBJECT, True)
    refreshed = await client.post(
        "/graphql",
        json={"query": REFRESH_FROM_COOKIE},
        headers={"cookie": f"{settings.refresh_cookie_name}={refresh_cookie.value}"},
    )
    payload = refreshed.json()["data"]["refreshToken"]
    assert payload["errors"] == []
    assert payload["user"] == {"email": "asha@example.com", "googleLinked": True}
    assert payload["refreshToken"] != refresh_cookie.value
    me = await graphql(client, ME, token=payload["accessToken"])
    assert me["data"]["me"]["email"] == "asha@example.com"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda query, cookie: ({**query, "state": "someone-elses"}, cookie), id="wrong-state"
        ),
        pytest.param(lambda query, cookie: (query, None), id="no-cookie"),
        pytest.param(lambda query, cookie: (query, cookie[:-4] + "AAAA"), id="forged-cookie"),
        pytest.param(
            lambda query, cookie: ({"code": query["code"]}, cookie), id="no-state-in-query"
        ),
    ],
)
async def test_a_callback_whose_state_does_not_match_creates_no_session(
    client: httpx.AsyncClient,
    google: FakeOpenIdProvider,
    settings: Settings,
    tamper: Callable[[dict[str, str], str], tuple[dict[str, str], str | None]],
) -> None:
    started, state_cookie = await start_redirect(client)
    back = await consent_at_google(started.headers["location"])
    query, cookie = tamper({"code": back["code"], "state": back["state"]}, state_cookie)

    response = await callback(client, query, cookie)

    assert response.status_code == 303
    assert response.headers["location"] == f"{settings.frontend_url}?error=GOOGLE_STATE_MISMATCH"
    assert settings.refresh_cookie_name not in set_cookies(response)
    assert google.count(TOKEN_PATH) == 0  # the code was never redeemed
    assert await User.count() == 0
    assert await AuthSession.count() == 0


async def test_a_code_works_once(
    client: httpx.AsyncClient, google: FakeOpenIdProvider, settings: Settings
) -> None:
    started, state_cookie = await start_redirect(client)
    back = await consent_at_google(started.headers["location"])
    query = {"code": back["code"], "state": back["state"]}
    signed_in = await callback(client, query, state_cookie)
    assert signed_in.headers["location"] == settings.frontend_url

    replay = await callback(client, query, state_cookie)

    assert replay.headers["location"] == f"{settings.frontend_url}?error=INVALID_GOOGLE_TOKEN"
    assert settings.refresh_cookie_name not in set_cookies(replay)
    assert await AuthSession.count() == 1


async def test_the_redirect_flow_refuses_an_email_google_has_not_verified(
    client: httpx.AsyncClient, google: FakeOpenIdProvider, settings: Settings
) -> None:
    google.user["email_verified"] = False
    started, state_cookie = await start_redirect(client)
    back = await consent_at_google(started.headers["location"])

    response = await callback(client, {"code": back["code"], "state": back["state"]}, state_cookie)

    assert response.headers["location"] == (
        f"{settings.frontend_url}?error=GOOGLE_EMAIL_NOT_VERIFIED"
    )
    assert await User.count() == 0
    assert await AuthSession.count() == 0


async def test_the_redirect_flow_without_google_configured_goes_back_with_an_error(
    client: httpx.AsyncClient, replace_services: Callable[..., None], settings: Settings
) -> None:
    replace_services(google=None)

    response = await client.get("/auth/google/login")

    assert response.status_code == 303
    assert response.headers["location"] == f"{settings.frontend_url}?error=GOOGLE_NOT_CONFIGURED"
    assert STATE_COOKIE not in {name for name, m in set_cookies(response).items() if m.value}


async def test_cancelling_at_google_goes_back_saying_so(
    client: httpx.AsyncClient, google: FakeOpenIdProvider, settings: Settings
) -> None:
    response = await client.get("/auth/google/callback", params={"error": "access_denied"})

    assert response.status_code == 303
    assert response.headers["location"] == f"{settings.frontend_url}?error=GOOGLE_SIGN_IN_CANCELLED"
    assert await User.count() == 0

"""Device tokens (OWASP's device cookie): a guesser with many addresses locks an account for
everyone else, never for a device its owner signed in on before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId
from starlette.applications import Starlette

from documents.accounts import AuthSession, User
from documents.common import utc_now
from resolvers.accounts import devices
from resolvers.accounts.devices import DEVICE_COOKIE_NAME, issue_device_token, read_device_token
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import client_at, error_codes, graphql, payload_codes

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken deviceToken user { email } errors { code } }
}
"""
LOGIN_WITH_REFRESH = """
mutation Login($input: LoginInput!) { login(input: $input) { refreshToken deviceToken } }
"""
REFRESH = "mutation($token: String) { refreshToken(token: $token) { deviceToken errors { code } } }"
WRONG = "not the password"


def browser_at(app: Starlette, ip: str) -> httpx.AsyncClient:
    """A browser at `ip`: it keeps cookies, and sends the Secure ones over https."""
    return client_at(app, ip, https=True)


async def attempt(
    client: httpx.AsyncClient, password: str, *, email: str = "asha@example.com", **extra: str
) -> dict[str, Any]:
    return await graphql(client, LOGIN, {"input": {"email": email, "password": password, **extra}})


def outcome(body: dict[str, Any]) -> str:
    return (error_codes(body) or payload_codes(body, "login") or ["SIGNED_IN"])[0]


async def guess_from_many_addresses(app: Starlette, guesses: int = 50) -> list[str]:
    outcomes = []
    for number in range(guesses):
        async with browser_at(app, f"198.51.100.{number}") as guesser:
            outcomes.append(outcome(await attempt(guesser, WRONG)))
    return outcomes


async def test_a_guesser_locks_the_account_for_new_devices_but_not_for_the_owners_browser(
    app: Starlette,
) -> None:
    await make_user("asha@example.com")
    async with browser_at(app, "192.0.2.10") as owner, browser_at(app, "192.0.2.20") as stranger:
        assert outcome(await attempt(owner, DEFAULT_PASSWORD)) == "SIGNED_IN"

        guesses = await guess_from_many_addresses(app)
        at_a_new_device = await attempt(stranger, DEFAULT_PASSWORD)
        at_the_owners = await attempt(owner, DEFAULT_PASSWORD)

    assert set(guesses) == {"INVALID_CREDENTIALS", "RATE_LIMITED"}
    assert guesses[-1] == "RATE_LIMITED"
    assert outcome(at_a_new_device) == "RATE_LIMITED"
    assert outcome(at_the_owners) == "SIGNED_IN"
    assert await AuthSession.count() == 2


async def test_the_device_cookie_is_http_only_long_lived_and_bound_to_graphql(
    app: Starlette, settings: Settings
) -> None:
    await make_user("asha@example.com")
    async with browser_at(app, "192.0.2.10") as owner:
        response = await owner.post(
            "/graphql",
            json={
                "query": LOGIN,
                "variables": {"input": {"email": "asha@example.com", "password": DEFAULT_PASSWORD}},
            },
        )

    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{DEVICE_COOKIE_NAME}=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path", "max-age", "samesite"} <= attributes
    assert "Path=/graphql" in cookie
    assert f"SameSite={settings.refresh_cookie_samesite}" in cookie
    max_age = int(cookie.split("Max-Age=")[1].split(";")[0])
    assert max_age >= (settings.device_token_days - 1) * 86400
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token == response.json()["data"]["login"]["deviceToken"]


async def test_a_bff_passes_the_device_token_as_an_argument(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user = await make_user("asha@example.com")
    signed_in = (await attempt(client, DEFAULT_PASSWORD))["data"]["login"]
    await guess_from_many_addresses(app)

    async with browser_at(app, "192.0.2.30") as bff, browser_at(app, "192.0.2.30") as other:
        with_token = await attempt(bff, DEFAULT_PASSWORD, deviceToken=signed_in["deviceToken"])
        without = await attempt(other, DEFAULT_PASSWORD)

    assert signed_in["deviceToken"].startswith(f"{user.id}.")
    assert outcome(with_token) == "SIGNED_IN"
    assert outcome(without) == "RATE_LIMITED"


async def test_a_forged_or_other_accounts_device_token_gives_no_exemption(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_user("asha@example.com")
    await make_user("bob@example.com")
    own = (await attempt(client, DEFAULT_PASSWORD))["data"]["login"]["deviceToken"]
    bobs = (await attempt(client, DEFAULT_PASSWORD, email="bob@example.com"))["data"]["login"][
        "deviceToken"
    ]
    user_id, nonce, issued, expires, signature = own.split(".")
    forged = [
        f"{user_id}.{nonce}x.{issued}.{expires}.{signature}",  # another nonce, same signature
        f"{user_id}.{nonce}.{issued}.{int(expires) + 86400}.{signature}",  # a later expiry
        f"{user_id}.{nonce}.{int(issued) + 10**9}.{expires}.{signature}",  # a later issue
        f"{user_id}.{nonce}.{issued}.{expires}.{'0' * len(signature)}",
        "garbage",
        "x" * 10_000,
    ]
    await guess_from_many_addresses(app)

    async with browser_at(app, "192.0.2.40") as stranger:
        answers = [
            await attempt(stranger, DEFAULT_PASSWORD, deviceToken=token)
            for token in [bobs, *forged]
        ]
    assert [outcome(answer) for answer in answers] == ["RATE_LIMITED"] * 7
    assert await AuthSession.count() == 2  # the two sign-ins before the guessing


async def test_a_password_change_retires_the_device_tokens_issued_before_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user = await make_user("asha@example.com")
    before = (await attempt(client, DEFAULT_PASSWORD))["data"]["login"]["deviceToken"]
    await User.get_pymongo_collection().update_one(
        {"_id": user.id}, {"$set": {"password_changed_at": utc_now()}}
    )
    after = (await attempt(client, DEFAULT_PASSWORD))["data"]["login"]["deviceToken"]
    await guess_from_many_addresses(app)

    async with browser_at(app, "192.0.2.50") as old, browser_at(app, "192.0.2.51") as new:
        with_old = await attempt(old, DEFAULT_PASSWORD, deviceToken=before)
        with_new = await attempt(new, DEFAULT_PASSWORD, deviceToken=after)

    assert outcome(with_old) == "RATE_LIMITED"
    assert outcome(with_new) == "SIGNED_IN"


async def test_a_token_issued_in_the_password_changes_own_millisecond_is_retired(
    app: Starlette, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await make_user("asha@example.com")
    instant = utc_now().replace(microsecond=123_456)
    monkeypatch.setattr(devices, "utc_now", lambda: instant)
    issued = issue_device_token(settings, user.id)
    claim = read_device_token(settings, issued.value)
    assert claim is not None
    assert claim.of(user) is not None

    # A change in the millisecond before the token's: the token came after it.
    user.password_changed_at = instant.replace(microsecond=122_000)
    assert claim.of(user) is not None

    # A change made a moment after the token, in the same millisecond, as MongoDB keeps it
    # (milliseconds, truncated): which came first cannot be told, so the token is retired.
    user.password_changed_at = instant.replace(microsecond=123_000)
    assert claim.of(user) is None


async def test_a_device_token_stops_working_when_it_expires(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = issue_device_token(settings, ObjectId())
    assert read_device_token(settings, issued.value) is not None
    later = utc_now() + timedelta(days=settings.device_token_days, seconds=1)

    monkeypatch.setattr(devices, "utc_now", lambda: later)

    assert read_device_token(settings, issued.value) is None


async def test_a_stolen_device_token_buys_only_its_own_few_guesses(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    stolen = (await attempt(client, DEFAULT_PASSWORD))["data"]["login"]["deviceToken"]
    per_device = int(settings.rate_limits["login:device"].split("/")[0])

    guesses = []
    for number in range(per_device + 1):
        async with browser_at(app, f"203.0.113.{number}") as thief:
            guesses.append(outcome(await attempt(thief, WRONG, deviceToken=stolen)))
    async with browser_at(app, "192.0.2.50") as owner_elsewhere:
        owner = await attempt(owner_elsewhere, DEFAULT_PASSWORD)

    assert guesses == ["INVALID_CREDENTIALS"] * per_device + ["RATE_LIMITED"]
    # The thief's guesses did not count against the account: its owner still signs in.
    assert outcome(owner) == "SIGNED_IN"


async def test_a_refresh_hands_out_no_device_token(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")
    variables = {"input": {"email": "asha@example.com", "password": DEFAULT_PASSWORD}}
    signed_in = (await graphql(client, LOGIN_WITH_REFRESH, variables))["data"]["login"]

    refreshed = (await graphql(client, REFRESH, {"token": signed_in["refreshToken"]}))["data"]

    assert signed_in["deviceToken"]
    assert refreshed["refreshToken"] == {"deviceToken": None, "errors": []}

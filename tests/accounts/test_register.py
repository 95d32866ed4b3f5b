"""`register`: new accounts, the password policy, admin sign-up keys, the verification email."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from documents.accounts import User, password_matches
from settings import Settings
from tests.factories import make_user
from tests.support import client_at, error_codes, graphql, payload_codes, sent_emails

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    accessToken refreshToken accessTokenExpiresAt
    user { id email name mobile role emailVerified hasPassword }
    errors { field code message }
  }
}
"""
ME = "{ me { email name emailVerified role } }"


def registration(**overrides: object) -> dict[str, object]:
    return {
        "email": "Asha@Example.com ",
        "password": "a good passphrase",
        "name": "Asha",
        "mobile": "+91 98765 43210",
        **overrides,
    }


async def test_registers_signs_in_and_sends_a_verification_email(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/graphql", json={"query": REGISTER, "variables": {"input": registration()}}
    )
    payload = response.json()["data"]["register"]

    assert payload["errors"] == []
    assert payload["user"] == {
        "id": payload["user"]["id"],
        "email": "asha@example.com",
        "name": "Asha",
        "mobile": "+91 98765 43210",
        "role": "USER",
        "emailVerified": False,
        "hasPassword": True,
    }
    me = await graphql(client, ME, token=payload["accessToken"])
    assert me["data"]["me"]["email"] == "asha@example.com"
    cookie = response.headers["set-cookie"]
    assert f"{settings.refresh_cookie_name}={payload['refreshToken']}" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/graphql" in cookie
    assert "samesite=lax" in cookie.lower()
    stored = await User.find_one(User.email == "asha@example.com")
    assert stored is not None
    assert stored.password_hash != "a good passphrase"
    assert password_matches("a good passphrase", stored.password_hash, rounds=4)
    emails = await sent_emails(app, settings, "asha@example.com")
    assert [email["subject"] for email in emails] == ["Confirm your email address"]
    assert re.search(r"/verify-email\?token=[\w-]{40,}", emails[0]["text"])
    assert "verify-email?token=" in emails[0]["html"]


async def test_an_email_can_register_once_whatever_its_case(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")

    body = await graphql(client, REGISTER, {"input": registration(email="ASHA@example.com")})

    assert payload_codes(body, "register") == ["EMAIL_TAKEN"]
    assert body["data"]["register"]["accessToken"] is None
    assert await User.find(User.email == "asha@example.com").count() == 1


async def test_the_password_policy_is_enforced(client: httpx.AsyncClient) -> None:
    for password in ("short1", "12345678901", "asha@example.com", "ASHA", "x" * 73):
        body = await graphql(client, REGISTER, {"input": registration(password=password)})
        errors = body["data"]["register"]["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [("password", "WEAK_PASSWORD")], (
            password
        )
    assert await User.count() == 0


async def test_bad_email_name_and_mobile_are_refused_with_their_fields(
    client: httpx.AsyncClient,
) -> None:
    cases = [
        ({"email": "not-an-email"}, ("email", "INVALID_EMAIL")),
        ({"name": "   "}, ("name", "INVALID_NAME")),
        ({"name": "x" * 121}, ("name", "INVALID_NAME")),
        ({"mobile": "call me"}, ("mobile", "INVALID_MOBILE")),
    ]
    for overrides, expected in cases:
        body = await graphql(client, REGISTER, {"input": registration(**overrides)})
        errors = body["data"]["register"]["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [expected], overrides
    assert await User.count() == 0


async def test_the_admin_signup_key_creates_an_admin_and_a_wrong_one_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.admin_signup_key is not None
    key = settings.admin_signup_key.get_secret_value()

    wrong = await graphql(client, REGISTER, {"input": registration(adminSignupKey="guess")})
    right = await graphql(client, REGISTER, {"input": registration(adminSignupKey=key)})

    assert payload_codes(wrong, "register") == ["INVALID_ADMIN_SIGNUP_KEY"]
    assert right["data"]["register"]["user"]["role"] == "ADMIN"
    assert await User.count() == 1


async def test_guesses_at_the_admin_signup_key_from_anywhere_share_one_limit(
    app: Starlette, settings: Settings
) -> None:
    assert settings.admin_signup_key is not None
    key = settings.admin_signup_key.get_secret_value()
    budget = int(settings.rate_limits["admin_signup:account"].split("/")[0])

    guesses = []
    for number in range(budget):
        async with client_at(app, f"198.51.100.{number}") as guesser:
            body = await graphql(guesser, REGISTER, {"input": registration(adminSignupKey="guess")})
            guesses.append(payload_codes(body, "register"))
    async with client_at(app, "192.0.2.1") as someone:
        right_key = await graphql(someone, REGISTER, {"input": registration(adminSignupKey=key)})
        no_key = await graphql(someone, REGISTER, {"input": registration()})

    assert guesses == [["INVALID_ADMIN_SIGNUP_KEY"]] * budget
    assert error_codes(right_key) == ["RATE_LIMITED"]
    # Registering without the key is not held up by the guessing.
    assert no_key["data"]["register"]["user"]["role"] == "USER"
    assert await User.count() == 1

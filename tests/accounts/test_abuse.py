"""Limits and input checks that keep account endpoints from being abused."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from documents.accounts import User
from settings import Environment, Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import LOGIN, error_codes, graphql, login, payload_codes

CHANGE_PASSWORD = """
mutation($input: ChangePasswordInput!) { changePassword(input: $input) { errors { code } } }
"""
CHANGE_EMAIL = """
mutation($email: String) { updateProfile(input: {email: $email}) { errors { code } } }
"""
REGISTER = """
mutation($input: RegisterInput!) { register(input: $input) { errors { field code } } }
"""


async def test_guessing_the_current_password_is_rate_limited(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")
    token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]
    wrong = {"input": {"currentPassword": "guess", "newPassword": "a brand new passphrase"}}

    answers = [await graphql(client, CHANGE_PASSWORD, wrong, token=token) for _ in range(11)]

    assert all(payload_codes(a, "changePassword") == ["INVALID_CREDENTIALS"] for a in answers[:10])
    assert error_codes(answers[10]) == ["RATE_LIMITED"]


async def test_changing_the_email_again_and_again_is_rate_limited(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")
    token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]

    answers = [
        await graphql(client, CHANGE_EMAIL, {"email": f"new{n}@example.com"}, token=token)
        for n in range(6)
    ]

    assert all(payload_codes(a, "updateProfile") == [] for a in answers[:5])
    assert error_codes(answers[5]) == ["RATE_LIMITED"]
    stored = await User.find_one()
    assert stored is not None
    assert stored.email == "new4@example.com"


async def test_a_huge_email_costs_no_more_redis_than_a_short_one(
    client: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    body = await graphql(client, LOGIN, {"input": {"email": "x" * 200_000, "password": "p"}})

    assert payload_codes(body, "login") == ["INVALID_CREDENTIALS"]
    keys = [key async for key in redis.scan_iter(match=f"{settings.redis_key_prefix}limits*")]
    assert keys
    assert max(len(key) for key in keys) < 200


async def test_addresses_with_hidden_characters_are_refused(client: httpx.AsyncClient) -> None:
    for email in ("n\u0000x@example.com", "as\u200bha@example.com", "asha\u202e@example.com"):
        body = await graphql(
            client,
            REGISTER,
            {"input": {"email": email, "password": "a good passphrase", "name": "Asha"}},
        )
        assert [e["code"] for e in body["data"]["register"]["errors"]] == ["INVALID_EMAIL"], email
    assert await User.count() == 0


async def test_searches_with_control_characters_are_bad_input(client: httpx.AsyncClient) -> None:
    body = await graphql(client, '{ products(search: "a\\u0000b") { totalCount } }')

    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_an_avatar_sent_as_a_string_is_bad_input(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")
    token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]

    body = await graphql(
        client,
        "mutation($file: Upload!) { uploadAvatar(file: $file) { errors { code } } }",
        {"file": "abc"},
        token=token,
    )

    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_an_oversized_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "' + b"x" * (settings.max_json_request_bytes + 1) + b'"}',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_production_needs_its_own_secret_whatever_signs_the_tokens() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET must be set"):
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment=Environment.PRODUCTION,
            mongodb_uri="mongodb://db/?replicaSet=rs0",
            redis_url="redis://cache/0",
            jwt_algorithm="ES256",
            jwt_private_key="private",
            jwt_public_key="public",
        )


def test_a_blank_admin_signup_key_is_no_key_and_a_short_one_is_refused() -> None:
    assert Settings(_env_file=None, admin_signup_key="  ").admin_signup_key is None  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="at least 24 characters"):
        Settings(_env_file=None, admin_signup_key="short")  # type: ignore[call-arg]

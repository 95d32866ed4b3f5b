"""`login` and the abuse limits on it."""

from __future__ import annotations

import httpx

from documents.accounts import AuthSession
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import LOGIN, error_codes, graphql, login, payload_codes


async def attempt(client: httpx.AsyncClient, email: str, password: str) -> dict:
    return await graphql(client, LOGIN, {"input": {"email": email, "password": password}})


async def test_signs_in_with_email_in_any_case_and_records_the_device(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user("asha@example.com")

    payload = await login(client, " ASHA@example.com", DEFAULT_PASSWORD, user_agent="Firefox/140")

    assert payload["user"]["email"] == "asha@example.com"
    assert payload["accessToken"]
    assert payload["refreshToken"]
    sessions = await AuthSession.find(AuthSession.user_id == user.id).to_list()
    assert [(s.user_agent, s.ip) for s in sessions] == [("Firefox/140", "127.0.0.1")]


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")

    wrong_password = await attempt(client, "asha@example.com", "not the password")
    unknown_email = await attempt(client, "nobody@example.com", "not the password")

    assert wrong_password == unknown_email
    assert payload_codes(wrong_password, "login") == ["INVALID_CREDENTIALS"]
    assert await AuthSession.count() == 0


async def test_a_google_only_account_cannot_sign_in_with_a_password(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com", password=None, google_subject="google-123")

    body = await attempt(client, "asha@example.com", "")

    assert payload_codes(body, "login") == ["INVALID_CREDENTIALS"]


async def test_a_disabled_account_cannot_sign_in(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com", disabled=True)

    body = await attempt(client, "asha@example.com", DEFAULT_PASSWORD)

    assert payload_codes(body, "login") == ["ACCOUNT_DISABLED"]
    assert await AuthSession.count() == 0


async def test_too_many_attempts_for_one_account_are_rate_limited(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")
    for _ in range(5):
        assert payload_codes(await attempt(client, "asha@example.com", "wrong"), "login") == [
            "INVALID_CREDENTIALS"
        ]

    limited = await attempt(client, "asha@example.com", DEFAULT_PASSWORD)
    other_account = await attempt(client, "other@example.com", "wrong")

    assert error_codes(limited) == ["RATE_LIMITED"]
    retry_after = limited["errors"][0]["extensions"]["retryAfter"]
    assert 1 <= retry_after <= 60
    assert limited["data"] is None
    # The limit is per account (and IP); another account from the same IP is not blocked yet.
    assert payload_codes(other_account, "login") == ["INVALID_CREDENTIALS"]
    assert await AuthSession.count() == 0


async def test_many_accounts_from_one_ip_are_rate_limited(client: httpx.AsyncClient) -> None:
    for number in range(30):
        await attempt(client, f"user{number}@example.com", "wrong")

    body = await attempt(client, "one-more@example.com", "wrong")

    assert error_codes(body) == ["RATE_LIMITED"]

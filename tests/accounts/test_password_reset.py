"""Password reset: `requestPasswordReset`, `verifyPasswordResetOtp` and `resetPassword`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from documents.accounts import CodePurpose, OneTimeCode, User, password_matches
from documents.common import utc_now
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import (
    LOGIN,
    MongoCommandCounter,
    error_codes,
    graphql,
    login,
    payload_codes,
    sent_emails,
)

REQUEST_RESET = """
mutation RequestReset($email: String!) {
  requestPasswordReset(email: $email) { ok errors { field code message } }
}
"""
VERIFY_OTP = """
mutation VerifyOtp($input: VerifyPasswordResetOtpInput!) {
  verifyPasswordResetOtp(input: $input) { resetToken errors { field code message } }
}
"""
RESET_PASSWORD = """
mutation ResetPassword($input: ResetPasswordInput!) {
  resetPassword(input: $input) { ok errors { field code message } }
}
"""
REFRESH = """
mutation Refresh($token: String) {
  refreshToken(token: $token) { accessToken errors { field code message } }
}
"""
ME = "{ me { email } }"
NEW_PASSWORD = "a brand new passphrase"
_OTP = re.compile(r"\b(\d{6})\b")


async def emailed_otps(app: Starlette, settings: Settings, to: str) -> list[str]:
    """The code of every password reset email sent to `to`, oldest first."""
    emails = await sent_emails(app, settings, to)
    found = [_OTP.search(email["text"]) for email in emails if "reset code" in email["subject"]]
    return [match.group(1) for match in found if match]


async def request_otp(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, email: str
) -> str:
    body = await graphql(client, REQUEST_RESET, {"email": email})
    assert body["data"]["requestPasswordReset"] == {"ok": True, "errors": []}
    return (await emailed_otps(app, settings, email))[-1]


async def verify_otp(client: httpx.AsyncClient, email: str, otp: str) -> dict[str, Any]:
    body = await graphql(client, VERIFY_OTP, {"input": {"email": email, "otp": otp}})
    payload: dict[str, Any] = body["data"]["verifyPasswordResetOtp"]
    return payload


async def reset_password(
    client: httpx.AsyncClient, reset_token: str, new_password: str
) -> dict[str, Any]:
    body = await graphql(
        client, RESET_PASSWORD, {"input": {"resetToken": reset_token, "newPassword": new_password}}
    )
    payload: dict[str, Any] = body["data"]["resetPassword"]
    return payload


def wrong(otp: str) -> str:
    return f"{(int(otp) + 1) % 10**6:06d}"


def errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def password_is(email: str, password: str) -> bool:
    user = await User.find_one(User.email == email)
    assert user is not None
    return password_matches(password, user.password_hash, rounds=4)


@asynccontextmanager
async def client_from(app: Starlette, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling from its own IP address, as a distributed attacker would."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_the_full_reset_flow_sets_the_password_and_ends_every_session(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com", name="Asha")
    laptop = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="laptop")
    phone = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="phone")

    otp = await request_otp(app, client, settings, "asha@example.com")
    verified = await verify_otp(client, "asha@example.com", otp)
    reset = await reset_password(client, verified["resetToken"], NEW_PASSWORD)

    assert re.fullmatch(r"\d{6}", otp)
    assert verified["errors"] == []
    assert reset == {"ok": True, "errors": []}
    old = await graphql(
        client, LOGIN, {"input": {"email": "asha@example.com", "password": DEFAULT_PASSWORD}}
    )
    assert payload_codes(old, "login") == ["INVALID_CREDENTIALS"]
    assert (await login(client, "asha@example.com", NEW_PASSWORD))["accessToken"]
    for device in (laptop, phone):
        me = await graphql(client, ME, token=device["accessToken"])
        assert error_codes(me) == ["UNAUTHENTICATED"]
        refreshed = await graphql(client, REFRESH, {"token": device["refreshToken"]})
        assert payload_codes(refreshed, "refreshToken") == ["INVALID_REFRESH_TOKEN"]
        assert refreshed["data"]["refreshToken"]["accessToken"] is None
    subjects = [email["subject"] for email in await sent_emails(app, settings, "asha@example.com")]
    assert subjects == ["Your password reset code", "Your password was changed"]


async def test_five_wrong_codes_end_the_code_even_for_the_right_one(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    otp = await request_otp(app, client, settings, "asha@example.com")

    wrong_tries = [await verify_otp(client, "asha@example.com", wrong(otp)) for _ in range(5)]
    right_try = await verify_otp(client, "asha@example.com", otp)

    assert [errors(payload) for payload in wrong_tries] == [[("otp", "INVALID_OTP")]] * 5
    assert errors(right_try) == [("otp", "TOO_MANY_ATTEMPTS")]
    assert right_try["resetToken"] is None
    assert (
        await OneTimeCode.find(OneTimeCode.purpose == CodePurpose.PASSWORD_RESET_TOKEN).count() == 0
    )
    assert await password_is("asha@example.com", DEFAULT_PASSWORD)


async def test_parallel_guesses_never_get_more_than_five_checks(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    otp = await request_otp(app, client, settings, "asha@example.com")

    async def guess(number: int) -> dict[str, Any]:
        # Each guess from its own address, so the per-IP rate limits do not hide the code's cap.
        async with client_from(app, f"203.0.113.{number + 1}") as attacker:
            return await verify_otp(attacker, "asha@example.com", wrong(otp))

    # 15 stays under the account's hourly limit on guesses, so the code's own cap is what is tested.
    results = await asyncio.gather(*(guess(number) for number in range(15)))

    codes = sorted(code for payload in results for _, code in errors(payload))
    assert codes == ["INVALID_OTP"] * 5 + ["TOO_MANY_ATTEMPTS"] * 10
    stored = await OneTimeCode.find_one(OneTimeCode.purpose == CodePurpose.PASSWORD_RESET_OTP)
    assert stored is not None
    assert stored.attempts == 15
    assert stored.used_at is None
    right_try = await verify_otp(client, "asha@example.com", otp)
    assert errors(right_try) == [("otp", "TOO_MANY_ATTEMPTS")]
    assert (
        await OneTimeCode.find(OneTimeCode.purpose == CodePurpose.PASSWORD_RESET_TOKEN).count() == 0
    )


async def test_a_reset_token_works_once(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    otp = await request_otp(app, client, settings, "asha@example.com")
    reset_token = (await verify_otp(client, "asha@example.com", otp))["resetToken"]
    assert (await reset_password(client, reset_token, NEW_PASSWORD))["ok"] is True

    again = await reset_password(client, reset_token, "yet another passphrase")

    assert again["ok"] is False
    assert errors(again) == [("resetToken", "INVALID_RESET_TOKEN")]
    assert await password_is("asha@example.com", NEW_PASSWORD)


async def test_a_code_cannot_be_traded_twice(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    otp = await request_otp(app, client, settings, "asha@example.com")
    assert (await verify_otp(client, "asha@example.com", otp))["resetToken"]

    again = await verify_otp(client, "asha@example.com", otp)

    assert errors(again) == [("otp", "INVALID_OTP")]
    assert (
        await OneTimeCode.find(OneTimeCode.purpose == CodePurpose.PASSWORD_RESET_TOKEN).count() == 1
    )


async def test_an_expired_code_is_invalid(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    otp = await request_otp(app, client, settings, "asha@example.com")
    await OneTimeCode.get_pymongo_collection().update_many(
        {"purpose": CodePurpose.PASSWORD_RESET_OTP},
        {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}},
    )

    expired = await verify_otp(client, "asha@example.com", otp)

    assert errors(expired) == [("otp", "INVALID_OTP")]
    assert expired["resetToken"] is None
    assert (
        await OneTimeCode.find(OneTimeCode.purpose == CodePurpose.PASSWORD_RESET_TOKEN).count() == 0
    )


async def test_a_new_request_ends_the_previous_code(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    first = await request_otp(app, client, settings, "asha@example.com")
    second = await request_otp(app, client, settings, "asha@example.com")
    assert first != second  # two random 6-digit codes; equal once in a million runs

    with_first = await verify_otp(client, "asha@example.com", first)
    with_second = await verify_otp(client, "asha@example.com", second)

    assert errors(with_first) == [("otp", "INVALID_OTP")]
    assert with_first["resetToken"] is None
    assert with_second["errors"] == []
    assert with_second["resetToken"]


async def test_a_weak_new_password_is_refused_and_the_token_still_works(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    session = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    otp = await request_otp(app, client, settings, "asha@example.com")
    reset_token = (await verify_otp(client, "asha@example.com", otp))["resetToken"]

    weak = await reset_password(client, reset_token, "12345678")

    assert weak["ok"] is False
    assert errors(weak) == [("newPassword", "WEAK_PASSWORD")]
    assert await password_is("asha@example.com", DEFAULT_PASSWORD)
    me = await graphql(client, ME, token=session["accessToken"])
    assert me["data"]["me"] == {"email": "asha@example.com"}
    subjects = [email["subject"] for email in await sent_emails(app, settings, "asha@example.com")]
    assert "Your password was changed" not in subjects
    retry = await reset_password(client, reset_token, NEW_PASSWORD)
    assert retry == {"ok": True, "errors": []}
    assert await password_is("asha@example.com", NEW_PASSWORD)


def data_commands(counter: MongoCommandCounter) -> list[tuple[str, str]]:
    """(command, collection) of everything a request sent, in order."""
    return [(name, str(command.get(name, ""))) for name, command in counter.sent]


async def test_unknown_and_known_addresses_get_the_same_answer_from_the_same_work(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    mongo_commands: MongoCommandCounter,
) -> None:
    await make_user("asha@example.com")

    mongo_commands.reset()
    known = await graphql(client, REQUEST_RESET, {"email": "asha@example.com"})
    known_commands = data_commands(mongo_commands)
    mongo_commands.reset()
    unknown = await graphql(client, REQUEST_RESET, {"email": "nobody@example.com"})
    unknown_commands = data_commands(mongo_commands)

    assert known == unknown
    assert known["data"] == {"requestPasswordReset": {"ok": True, "errors": []}}
    # While answering, the same work: the unknown address's email is recorded, not sent.
    assert known_commands[:-1] == unknown_commands
    assert unknown_commands == [
        ("find", "users"),
        ("update", "one_time_codes"),
        ("insert", "one_time_codes"),
        ("insert", "outbox_messages"),
    ]
    # Only after the response: the known address's email is handed to the job queue.
    assert known_commands[-1] == ("update", "outbox_messages")
    assert len(await emailed_otps(app, settings, "asha@example.com")) == 1
    assert await sent_emails(app, settings, "nobody@example.com") == []


async def test_a_code_for_an_unknown_address_is_refused_like_a_wrong_code(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    otp = await request_otp(app, client, settings, "asha@example.com")
    await graphql(client, REQUEST_RESET, {"email": "nobody@example.com"})

    wrong_code = await verify_otp(client, "asha@example.com", wrong(otp))
    requested_unknown = await verify_otp(client, "nobody@example.com", otp)
    never_requested = await verify_otp(client, "ghost@example.com", otp)

    assert wrong_code["errors"] == [
        {"field": "otp", "code": "INVALID_OTP", "message": wrong_code["errors"][0]["message"]}
    ]
    assert requested_unknown == wrong_code
    assert never_requested == wrong_code
    assert (
        await OneTimeCode.find(OneTimeCode.purpose == CodePurpose.PASSWORD_RESET_TOKEN).count() == 0
    )


async def test_an_email_change_retires_reset_codes_sent_to_the_old_address(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("old@example.com")
    token = (await login(client, "old@example.com", DEFAULT_PASSWORD))["accessToken"]
    code = await request_otp(app, client, settings, "old@example.com")

    await graphql(
        client,
        "mutation($e: String) { updateProfile(input: {email: $e}) { errors { code } } }",
        {"e": "new@example.com"},
        token=token,
    )
    payload = await verify_otp(client, "old@example.com", code)

    assert errors(payload) == [("otp", "INVALID_OTP")]


async def test_guesses_from_many_addresses_hit_the_accounts_limit(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    otp = await request_otp(app, client, settings, "asha@example.com")

    responses = []
    for number in range(21):
        async with client_from(app, f"198.51.100.{number + 1}") as attacker:
            responses.append(
                await graphql(
                    attacker,
                    VERIFY_OTP,
                    {"input": {"email": "asha@example.com", "otp": wrong(otp)}},
                )
            )

    # However many addresses the guesser uses, the account takes 20 guesses an hour.
    assert all(not error_codes(body) for body in responses[:20])
    assert error_codes(responses[20]) == ["RATE_LIMITED"]

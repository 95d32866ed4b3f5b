"""`verifyEmail` and `resendVerificationEmail`: links work once, expire, and follow email changes."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from starlette.applications import Starlette

from documents.accounts import CodePurpose, OneTimeCode, User, token_hash
from documents.common import utc_now
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import graphql, login, payload_codes, sent_emails

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken errors { field code message } }
}
"""
VERIFY_EMAIL = """
mutation VerifyEmail($token: String!) {
  verifyEmail(token: $token) {
    user { email emailVerified }
    errors { field code message }
  }
}
"""
RESEND = """
mutation Resend($email: String) {
  resendVerificationEmail(email: $email) { ok errors { field code message } }
}
"""
UPDATE_PROFILE = """
mutation UpdateProfile($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { email emailVerified } errors { field code message } }
}
"""
ME = "{ me { email emailVerified } }"
_LINK = re.compile(r"/verify-email\?token=([\w-]+)")


async def register(client: httpx.AsyncClient, email: str) -> str:
    """A new account through the API (which emails a link); its access token."""
    body = await graphql(
        client,
        REGISTER,
        {"input": {"email": email, "password": "a good passphrase", "name": "Asha"}},
    )
    assert body["data"]["register"]["errors"] == []
    token: str = body["data"]["register"]["accessToken"]
    return token


async def link_tokens(app: Starlette, settings: Settings, to: str) -> list[str]:
    """The token of every verification link emailed to `to`, oldest first."""
    emails = await sent_emails(app, settings, to)
    found = [_LINK.search(email["text"]) for email in emails]
    return [match.group(1) for match in found if match]


async def verified(email: str) -> bool:
    user = await User.find_one(User.email == email)
    assert user is not None
    return user.email_verified


async def test_the_link_from_the_registration_email_verifies_the_address_once(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    access_token = await register(client, "asha@example.com")
    [link] = await link_tokens(app, settings, "asha@example.com")

    first = await graphql(client, VERIFY_EMAIL, {"token": link})
    again = await graphql(client, VERIFY_EMAIL, {"token": link})

    assert first["data"]["verifyEmail"] == {
        "user": {"email": "asha@example.com", "emailVerified": True},
        "errors": [],
    }
    me = await graphql(client, ME, token=access_token)
    assert me["data"]["me"] == {"email": "asha@example.com", "emailVerified": True}
    assert [(e["field"], e["code"]) for e in again["data"]["verifyEmail"]["errors"]] == [
        ("token", "INVALID_TOKEN")
    ]
    assert again["data"]["verifyEmail"]["user"] is None


async def test_an_unknown_token_is_invalid(client: httpx.AsyncClient) -> None:
    await register(client, "asha@example.com")

    body = await graphql(client, VERIFY_EMAIL, {"token": "not-a-token-we-sent"})

    assert payload_codes(body, "verifyEmail") == ["INVALID_TOKEN"]
    assert not await verified("asha@example.com")


async def test_an_expired_link_does_not_verify(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await register(client, "asha@example.com")
    [link] = await link_tokens(app, settings, "asha@example.com")
    await OneTimeCode.get_pymongo_collection().update_one(
        {"purpose": CodePurpose.VERIFY_EMAIL, "code_hash": token_hash(link)},
        {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}},
    )

    body = await graphql(client, VERIFY_EMAIL, {"token": link})

    assert [(e["field"], e["code"]) for e in body["data"]["verifyEmail"]["errors"]] == [
        ("token", "TOKEN_EXPIRED")
    ]
    assert not await verified("asha@example.com")


async def test_a_resent_link_works_and_the_old_one_no_longer_does(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    access_token = await register(client, "asha@example.com")

    resent = await graphql(client, RESEND, token=access_token)

    assert resent["data"]["resendVerificationEmail"] == {"ok": True, "errors": []}
    old_link, new_link = await link_tokens(app, settings, "asha@example.com")
    assert old_link != new_link
    old = await graphql(client, VERIFY_EMAIL, {"token": old_link})
    assert payload_codes(old, "verifyEmail") == ["INVALID_TOKEN"]
    assert not await verified("asha@example.com")
    new = await graphql(client, VERIFY_EMAIL, {"token": new_link})
    assert new["data"]["verifyEmail"]["user"] == {
        "email": "asha@example.com",
        "emailVerified": True,
    }


async def test_resending_to_a_verified_user_is_refused_and_sends_nothing(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com", email_verified=True)
    access_token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]

    body = await graphql(client, RESEND, token=access_token)

    assert body["data"]["resendVerificationEmail"]["ok"] is False
    assert payload_codes(body, "resendVerificationEmail") == ["ALREADY_VERIFIED"]
    assert await sent_emails(app, settings, "asha@example.com") == []
    assert await OneTimeCode.count() == 0


async def test_anonymous_resend_answers_the_same_for_unknown_and_unverified_addresses(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")

    known = await graphql(client, RESEND, {"email": "asha@example.com"})
    unknown = await graphql(client, RESEND, {"email": "nobody@example.com"})

    assert known == unknown
    assert known["data"] == {"resendVerificationEmail": {"ok": True, "errors": []}}
    assert len(await link_tokens(app, settings, "asha@example.com")) == 1
    assert await sent_emails(app, settings, "nobody@example.com") == []
    assert await OneTimeCode.find(OneTimeCode.email == "nobody@example.com").count() == 0


async def test_after_an_email_change_a_link_goes_to_the_new_address_and_old_links_fail(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    access_token = await register(client, "asha@example.com")
    [old_link] = await link_tokens(app, settings, "asha@example.com")

    changed = await graphql(
        client, UPDATE_PROFILE, {"input": {"email": "asha@work.example"}}, token=access_token
    )

    assert changed["data"]["updateProfile"] == {
        "user": {"email": "asha@work.example", "emailVerified": False},
        "errors": [],
    }
    stale = await graphql(client, VERIFY_EMAIL, {"token": old_link})
    assert payload_codes(stale, "verifyEmail") == ["INVALID_TOKEN"]
    me = await graphql(client, ME, token=access_token)
    assert me["data"]["me"] == {"email": "asha@work.example", "emailVerified": False}
    assert len(await link_tokens(app, settings, "asha@example.com")) == 1
    [new_link] = await link_tokens(app, settings, "asha@work.example")
    fresh = await graphql(client, VERIFY_EMAIL, {"token": new_link})
    assert fresh["data"]["verifyEmail"]["user"] == {
        "email": "asha@work.example",
        "emailVerified": True,
    }


async def test_a_verified_user_who_changes_email_is_unverified_until_the_new_link(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com", email_verified=True)
    access_token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]

    changed = await graphql(
        client, UPDATE_PROFILE, {"input": {"email": "asha@work.example"}}, token=access_token
    )

    assert changed["data"]["updateProfile"]["user"] == {
        "email": "asha@work.example",
        "emailVerified": False,
    }
    assert not await verified("asha@work.example")
    assert await sent_emails(app, settings, "asha@example.com") == []
    [link] = await link_tokens(app, settings, "asha@work.example")
    body = await graphql(client, VERIFY_EMAIL, {"token": link})
    assert body["data"]["verifyEmail"]["errors"] == []
    assert await verified("asha@work.example")


async def test_a_link_for_a_previous_address_cannot_verify_the_current_one(
    client: httpx.AsyncClient,
) -> None:
    """Even a link that is somehow still unused (not superseded) is bound to its address."""
    user = await make_user("asha@work.example")
    link = "link-sent-before-the-address-changed"
    await OneTimeCode(
        purpose=CodePurpose.VERIFY_EMAIL,
        email="asha@example.com",
        user_id=user.id,
        code_hash=token_hash(link),
        expires_at=utc_now() + timedelta(hours=1),
    ).insert()

    body = await graphql(client, VERIFY_EMAIL, {"token": link})

    assert payload_codes(body, "verifyEmail") == ["INVALID_TOKEN"]
    assert not await verified("asha@work.example")


async def test_the_verification_email_is_one_html_document_with_the_link_and_closing(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await register(client, "asha@example.com")

    [email] = await sent_emails(app, settings, "asha@example.com")
    [token] = await link_tokens(app, settings, "asha@example.com")
    document = email["html"]
    assert document.count("<html") == 1
    assert document.count("</html>") == 1
    assert f"{settings.frontend_url}/verify-email?token={token}" in document
    hours = settings.email_verification_hours
    closing = f"The link works for {hours} hours. If you did not sign up, ignore this email."
    assert closing in document
    # The closing paragraph is part of the body, not text after the document.
    assert document.index("ignore this email") < document.index("</body>")

"""Access tokens: what is accepted, and the attacks that are not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from bson import ObjectId
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from documents.accounts import AccountError, AccountErrorCode, AuthSession, Role, User
from resolvers.accounts.access_tokens import AccessTokens
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import error_codes, graphql, login

ME = "{ me { email role } }"
USERS = "{ users(first: 5) { totalCount } }"


async def signed_in_claims(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    await make_user("asha@example.com")
    token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]
    claims: dict[str, Any] = jwt.decode(
        token,
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        audience=settings.jwt_audience,
    )
    return claims


def sign(claims: dict[str, Any], key: str | bytes, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def me_codes(client: httpx.AsyncClient, token: str) -> list[str]:
    return error_codes(await graphql(client, ME, token=token))


async def test_a_valid_token_carries_the_documented_claims(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    claims = await signed_in_claims(client, settings)

    assert set(claims) == {"sub", "role", "sid", "iat", "exp", "jti", "iss", "aud"}
    assert claims["role"] == "USER"
    assert claims["exp"] - claims["iat"] == settings.access_token_minutes * 60


async def test_forged_tampered_and_expired_tokens_are_unauthenticated(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    claims = await signed_in_claims(client, settings)
    secret = settings.jwt_secret.get_secret_value()
    now = datetime.now(UTC)
    valid = sign(claims, secret)
    header, _, signature = valid.split(".")
    attacks = {
        "expired": sign(
            {**claims, "iat": now - timedelta(hours=1), "exp": now - timedelta(minutes=1)}, secret
        ),
        "tampered": f"{header}.{b64({**claims, 'role': 'ADMIN'})}.{signature}",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
        "wrong key": sign(claims, "another secret that is long enough to be a key"),
        "wrong audience": sign({**claims, "aud": "another-api"}, secret),
        "wrong issuer": sign({**claims, "iss": "someone-else"}, secret),
        "no session": sign({k: v for k, v in claims.items() if k != "sid"}, secret),
        "garbage": "not.a.token",
    }

    assert await me_codes(client, valid) == []
    for name, token in attacks.items():
        body = await graphql(client, ME, token=token)
        assert error_codes(body) == ["UNAUTHENTICATED"], name
        assert body["data"] is None
    expired = await graphql(client, ME, token=attacks["expired"])
    assert "expired" in expired["errors"][0]["message"]


async def test_public_queries_work_with_a_bad_token(client: httpx.AsyncClient) -> None:
    body = await graphql(client, "{ products(first: 1) { totalCount } }", token="not.a.token")

    assert body["data"] == {"products": {"totalCount": 0}}


async def test_a_revoked_session_stops_its_access_token_at_once(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user("asha@example.com")
    token = (await login(client, "asha@example.com", DEFAULT_PASSWORD))["accessToken"]
    assert await me_codes(client, token) == []

    await AuthSession.get_pymongo_collection().update_many(
        {"user_id": user.id}, {"$set": {"revoked_at": datetime.now(UTC)}}
    )

    assert await me_codes(client, token) == ["UNAUTHENTICATED"]


async def test_the_role_comes_from_the_database_not_from_the_token(
    client: httpx.AsyncClient,
) -> None:
    admin = await make_user("boss@example.com", role=Role.ADMIN)
    await make_user("other-admin@example.com", role=Role.ADMIN)
    token = (await login(client, "boss@example.com", DEFAULT_PASSWORD))["accessToken"]
    assert error_codes(await graphql(client, USERS, token=token)) == []

    await admin.set({User.role: Role.USER})

    assert error_codes(await graphql(client, USERS, token=token)) == ["FORBIDDEN"]


def _pem_pair(private_key: Any) -> tuple[str, str]:
    private = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def hs256_signed(header_and_payload: str, key: bytes) -> str:
    mac = hmac.new(key, header_and_payload.encode(), hashlib.sha256).digest()
    return f"{header_and_payload}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


@pytest.mark.usefixtures("app")  # documents need the database binding to be built
@pytest.mark.parametrize(
    ("algorithm", "key"),
    [
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
    ],
)
async def test_asymmetric_keys_sign_and_verify_and_refuse_algorithm_confusion(
    algorithm: str, key: Any
) -> None:
    private, public = _pem_pair(key)
    tokens = AccessTokens(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            jwt_algorithm=algorithm,
            jwt_private_key=private,
            jwt_public_key=public,
        )
    )
    user = User(id=ObjectId(), email="a@example.com", name="A")
    session = AuthSession(
        id=ObjectId(), user_id=user.id, expires_at=datetime.now(UTC) + timedelta(days=1)
    )

    token, _ = tokens.issue(user, session)
    # An attacker who knows the public key signs an HS256 token with it as the "secret".
    payload = jwt.decode(token, options={"verify_signature": False})
    confused = hs256_signed(
        f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(payload)}", public.encode()
    )

    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert tokens.verify(token).user_id == user.id
    with pytest.raises(AccountError) as refused:
        tokens.verify(confused)
    assert refused.value.code is AccountErrorCode.INVALID_TOKEN


async def test_several_fields_that_need_the_viewer_resolve_together(
    client: httpx.AsyncClient,
) -> None:
    await make_user("boss@example.com", role=Role.ADMIN)
    token = (await login(client, "boss@example.com", DEFAULT_PASSWORD))["accessToken"]

    body = await graphql(
        client,
        "{ me { email } users(first: 1) { totalCount } again: me { role } }",
        token=token,
    )

    assert "errors" not in body, body
    assert body["data"]["me"] == {"email": "boss@example.com"}
    assert body["data"]["users"] == {"totalCount": 1}
    assert body["data"]["again"] == {"role": "ADMIN"}

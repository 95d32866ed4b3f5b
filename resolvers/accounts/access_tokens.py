"""Short-lived JWT access tokens: issued at sign-in and refresh, checked on every request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from bson import ObjectId
from bson.errors import InvalidId

from documents.accounts import AccountError, AccountErrorCode, AuthSession, Role, User
from documents.common import utc_now
from settings import JwtAlgorithm, Settings

_REQUIRED_CLAIMS = ["sub", "role", "sid", "iat", "exp", "jti", "iss", "aud"]


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says. The session is still checked against the database."""

    user_id: ObjectId
    session_id: ObjectId
    role: Role
    token_id: str
    expires_at: datetime


class AccessTokens:
    """Signs and verifies access tokens with HS256, or RS256/ES256 with a key pair."""

    def __init__(self, settings: Settings) -> None:
        self._algorithm = settings.jwt_algorithm.value
        if settings.jwt_algorithm is JwtAlgorithm.HS256:
            self._signing_key: str = settings.jwt_secret.get_secret_value()
            self._verifying_key: str = self._signing_key
        else:
            assert settings.jwt_private_key
            assert settings.jwt_public_key
            self._signing_key = settings.jwt_private_key.get_secret_value()
            self._verifying_key = settings.jwt_public_key
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._lifetime = timedelta(minutes=settings.access_token_minutes)

    def issue(self, user: User, session: AuthSession) -> tuple[str, datetime]:
        """A signed token for `user` in `session`, and when it expires."""
        now = utc_now()
        expires_at = now + self._lifetime
        claims = {
            "sub": str(user.id),
            "role": user.role.value,
            "sid": str(session.id),
            "iat": now,
            "exp": expires_at,
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
            "aud": self._audience,
        }
        return jwt.encode(claims, self._signing_key, algorithm=self._algorithm), expires_at

    def verify(self, token: str) -> AccessClaims:
        """The claims of a token this service signed; `AccountError` for anything else.

        Only the configured algorithm is accepted, so `alg: none` and algorithm-confusion tokens
        (an HS256 token "signed" with the RS256 public key) fail the signature check.
        """
        try:
            claims = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
            return AccessClaims(
                user_id=ObjectId(claims["sub"]),
                session_id=ObjectId(claims["sid"]),
                role=Role(claims["role"]),
                token_id=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(claims["exp"], tz=utc_now().tzinfo),
            )
        except jwt.ExpiredSignatureError:
            raise AccountError(
                AccountErrorCode.TOKEN_EXPIRED, "The access token has expired"
            ) from None
        except (jwt.InvalidTokenError, InvalidId, ValueError, TypeError):
            raise AccountError(
                AccountErrorCode.INVALID_TOKEN, "The access token is not valid"
            ) from None

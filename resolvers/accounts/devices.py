"""Device tokens: a signed note that this device signed in to an account before (OWASP's
"device cookie" against lockout).

A guesser with many addresses can use up an account's sign-in limit and so lock its owner out.
A sign-in that presents a valid device token for the account it signs in to is counted against
that device's own limit instead (`login:device`), so the owner's devices keep working while
everyone else is refused. The token grants nothing else: it is not a credential, and a stolen
one only buys the thief that device's small budget of guesses.

Format: `<user id>.<nonce>.<issued, unix ms>.<expiry, unix seconds>.<HMAC-SHA256 of the four
with JWT_SECRET>`. Nothing is stored; a new sign-in gets a new token. A password change or reset
retires every token issued before it: someone who once knew the old password keeps no budget.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from documents.accounts import User, keyed_hash
from documents.common import utc_now
from settings import Settings

# Cookie name of the device token; BFF and native clients send it as `LoginInput.deviceToken`.
DEVICE_COOKIE_NAME = "device_token"
# Tokens are about 110 characters; anything much longer is not one of ours.
_MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class DeviceToken:
    value: str
    expires_at: datetime


def _signature(settings: Settings, body: str) -> str:
    return keyed_hash(settings.jwt_secret.get_secret_value().encode(), "device", body)


def issue_device_token(settings: Settings, user_id: ObjectId) -> DeviceToken:
    """A new device token for the device `user_id` just signed in on."""
    now = utc_now()
    expires_at = now.replace(microsecond=0) + timedelta(days=settings.device_token_days)
    issued = int(now.timestamp() * 1000)
    body = f"{user_id}.{secrets.token_urlsafe(16)}.{issued}.{int(expires_at.timestamp())}"
    return DeviceToken(f"{body}.{_signature(settings, body)}", expires_at)


@dataclass(frozen=True)
class DeviceClaim:
    """What a valid device token says: this device signed in to account `user_id` before."""

    user_id: str
    nonce: str
    issued_at: datetime

    def of(self, user: User | None) -> str | None:
        """The device's nonce if the token was issued to `user` since their password last
        changed, else None."""
        if user is None or str(user.id) != self.user_id:
            return None
        changed = user.password_changed_at
        # MongoDB keeps milliseconds, as the token does: a token issued in the change's own
        # millisecond may have come first, so it is retired too.
        if changed is not None and self.issued_at <= changed.replace(tzinfo=UTC):
            return None
        return self.nonce


def read_device_token(settings: Settings, token: str | None) -> DeviceClaim | None:
    """The claim of an unexpired device token this service signed; None for no token, a
    forged or tampered one, or an expired one."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    body, _, signature = token.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _signature(settings, body).encode()):
        return None
    parts = body.split(".")
    if len(parts) != 4:
        return None
    user_id, nonce, issued, expires = parts
    if not (issued.isdigit() and expires.isdigit()):
        return None
    if datetime.fromtimestamp(int(expires), UTC) <= utc_now():
        return None
    issued_at = datetime.fromtimestamp(int(issued) / 1000, UTC)
    return DeviceClaim(user_id=user_id, nonce=nonce, issued_at=issued_at)

"""Razorpay's formats, shared by the real provider and the stand-in: entity JSON, ids, the
payment and webhook signatures, and the webhook body.

Signatures are checked with the SDK's own utility (a constant-time compare), never by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import string
import time
from typing import Any, TypeGuard

from razorpay.errors import SignatureVerificationError

from integrations.payments.interface import (
    ProviderOrder,
    ProviderPayment,
    ProviderRefund,
    WebhookEvent,
)

__all__ = [
    "RazorpaySignatures",
    "new_razorpay_id",
    "order_from_entity",
    "parse_webhook",
    "payment_from_entity",
    "payment_signature",
    "refund_from_entity",
    "sign",
    "webhook_body",
]

_ID_ALPHABET = string.digits + string.ascii_letters
_ID_LENGTH = 14
_ENTITY_KINDS = ("payment", "order", "refund")


def new_razorpay_id(prefix: str) -> str:
    """A fresh id shaped like Razorpay's: ``prefix`` + 14 random base62 characters."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def sign(body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of ``body`` with ``secret``: how Razorpay signs webhooks."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payment_signature(order_id: str, payment_id: str, key_secret: str) -> str:
    """The ``razorpay_signature`` Checkout hands the browser after a successful payment."""
    return sign(f"{order_id}|{payment_id}".encode(), key_secret)


class RazorpaySignatures:
    """The two signature checks both providers make, through the SDK's utility.

    Anything that is not a well-formed signature (empty, not text, non-ASCII, a body that is not
    UTF-8) is simply invalid: these answer ``False``, never raise.
    """

    def __init__(self, sdk_client: Any, webhook_secret: str) -> None:
        # The utility takes the key secret from the client's auth tuple.
        self._utility = sdk_client.utility
        self._webhook_secret = webhook_secret

    def payment_signature_valid(self, *, order_id: str, payment_id: str, signature: str) -> bool:
        """Whether ``signature`` is the key secret's HMAC of ``"<order id>|<payment id>"``."""
        values = (order_id, payment_id, signature)
        if not all(isinstance(value, str) and value for value in values):
            return False
        parameters = {
            "razorpay_order_id": order_id,
            "razorpay_payment_id": payment_id,
            "razorpay_signature": signature,
        }
        try:
            return bool(self._utility.verify_payment_signature(parameters))
        except (SignatureVerificationError, TypeError, ValueError):
            # hmac.compare_digest raises TypeError for non-ASCII text instead of answering no.
            return False

    def webhook_signature_valid(self, body: bytes, signature: str) -> bool:
        """Whether ``signature`` (``X-Razorpay-Signature``) is the webhook secret's HMAC of
        the raw ``body``."""
        if not isinstance(body, bytes) or not isinstance(signature, str) or not signature:
            return False
        try:
            # The SDK signs text; strict UTF-8 decoding round-trips to the very same bytes.
            text = body.decode()
            return bool(
                self._utility.verify_webhook_signature(text, signature, self._webhook_secret)
            )
        except (SignatureVerificationError, TypeError, ValueError):
            return False


def payment_from_entity(entity: dict[str, Any]) -> ProviderPayment:
    """A Razorpay payment entity as a ``ProviderPayment``; ``ValueError`` if it is malformed.

    A payment made outside an order has ``order_id`` null in Razorpay's JSON; it becomes ``""``.
    """
    _check_entity(entity, "payment", "pay_")
    return ProviderPayment(
        id=entity["id"],
        order_id=_optional_str(entity, "order_id") or "",
        amount=_int(entity, "amount"),
        currency=_str(entity, "currency"),
        status=_str(entity, "status"),
        method=_optional_str(entity, "method"),
        error_code=_optional_str(entity, "error_code"),
        error_description=_optional_str(entity, "error_description"),
        amount_refunded=_int(entity, "amount_refunded", default=0),
        captured=entity.get("captured") is True or entity.get("status") == "captured",
        raw=dict(entity),
    )


def order_from_entity(entity: dict[str, Any]) -> ProviderOrder:
    """A Razorpay order entity as a ``ProviderOrder`` (a null receipt becomes ``""``);
    ``ValueError`` if it is malformed."""
    _check_entity(entity, "order", "order_")
    return ProviderOrder(
        id=entity["id"],
        amount=_int(entity, "amount"),
        currency=_str(entity, "currency"),
        receipt=_optional_str(entity, "receipt") or "",
        status=_str(entity, "status"),
        notes=_notes(entity.get("notes")),
        raw=dict(entity),
    )


def refund_from_entity(entity: dict[str, Any]) -> ProviderRefund:
    """A Razorpay refund entity as a ``ProviderRefund``; ``ValueError`` if it is malformed."""
    _check_entity(entity, "refund", "rfnd_")
    return ProviderRefund(
        id=entity["id"],
        payment_id=_str(entity, "payment_id"),
        amount=_int(entity, "amount"),
        currency=_str(entity, "currency"),
        status=_str(entity, "status"),
        receipt=_optional_str(entity, "receipt"),
        notes=_notes(entity.get("notes")),
        raw=dict(entity),
    )


def parse_webhook(body: bytes) -> WebhookEvent:
    """Parse a Razorpay webhook body; ``ValueError`` for anything malformed.

    Check the signature over these same bytes first: this trusts what it reads.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, absurd nesting included
        raise ValueError(f"webhook body is not JSON: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise ValueError("webhook body is not a JSON object")
    event = document.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError("webhook body names no event")
    payload = document.get("payload", {})
    if not isinstance(payload, dict):
        raise ValueError("webhook payload is not an object")
    entities: dict[str, dict[str, Any] | None] = {}
    for kind in _ENTITY_KINDS:
        wrapper = payload.get(kind)
        if wrapper is None:
            entities[kind] = None
        elif isinstance(wrapper, dict) and isinstance(wrapper.get("entity"), dict):
            entities[kind] = wrapper["entity"]
        else:
            raise ValueError(f"webhook payload.{kind} is not {{'entity': {{...}}}}")
    created_at = document.get("created_at")
    if created_at is not None and not _is_int(created_at):
        raise ValueError("webhook created_at is not an integer")
    payment, order, refund = (entities[kind] for kind in _ENTITY_KINDS)
    return WebhookEvent(
        event=event,
        payment=payment_from_entity(payment) if payment is not None else None,
        order=order_from_entity(order) if order is not None else None,
        refund=refund_from_entity(refund) if refund is not None else None,
        created_at=created_at,
    )


def webhook_body(
    event: str,
    *,
    payment: ProviderPayment | None = None,
    order: ProviderOrder | None = None,
    refund: ProviderRefund | None = None,
    account_id: str = "acc_standin",
    created_at: int | None = None,
) -> bytes:
    """A webhook body exactly as Razorpay sends it, carrying the entities' ``raw`` JSON."""
    carried = {"payment": payment, "order": order, "refund": refund}
    payload = {kind: {"entity": item.raw} for kind, item in carried.items() if item is not None}
    document = {
        "entity": "event",
        "account_id": account_id,
        "event": event,
        "contains": list(payload),
        "payload": payload,
        "created_at": int(time.time()) if created_at is None else created_at,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _check_entity(entity: dict[str, Any], kind: str, id_prefix: str) -> None:
    if not isinstance(entity, dict):
        raise ValueError(f"a {kind} entity must be an object")
    if entity.get("entity", kind) != kind:
        raise ValueError(f"expected a {kind} entity, got {entity.get('entity')!r}")
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id.startswith(id_prefix):
        raise ValueError(f"a {kind} id must start with {id_prefix!r}")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(entity: dict[str, Any], key: str, *, default: int | None = None) -> int:
    value = entity.get(key, default)
    if not _is_int(value) or not 0 <= value < 2**63:
        raise ValueError(f"{entity.get('entity', 'entity')}.{key} must be an integer")
    return value


def _str(entity: dict[str, Any], key: str) -> str:
    value = entity.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{entity.get('entity', 'entity')}.{key} must be a string")
    return value


def _optional_str(entity: dict[str, Any], key: str) -> str | None:
    value = entity.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{entity.get('entity', 'entity')}.{key} must be a string or null")
    return value


def _notes(value: object) -> dict[str, str]:
    # Razorpay serialises empty notes as [] (a PHP empty array), others as an object.
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise ValueError("notes must be an object")
    return {str(key): str(note) for key, note in value.items()}

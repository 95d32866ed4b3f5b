"""Opaque Relay global IDs: `base64("Type:objectid")`."""

from __future__ import annotations

from bson import ObjectId
from bson.errors import InvalidId
from strawberry import relay

from documents.errors import InvalidInputError


def parse_global_id(value: str, *, field: str = "id") -> tuple[str, ObjectId]:
    """The type name and document id of a global ID; `InvalidInputError` when malformed."""
    try:
        global_id = relay.GlobalID.from_id(value)
        return global_id.type_name, ObjectId(global_id.node_id)
    except (relay.GlobalIDValueError, InvalidId, TypeError):
        raise InvalidInputError(f"{field} is not a valid ID", field=field) from None


def decode_global_id(
    value: str | None, expected_type: str, *, field: str = "id"
) -> ObjectId | None:
    """The document id inside a global ID that must name `expected_type`."""
    if value is None:
        return None
    type_name, object_id = parse_global_id(value, field=field)
    if type_name != expected_type:
        raise InvalidInputError(f"{field} is not a {expected_type} ID", field=field)
    return object_id

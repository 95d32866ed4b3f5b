"""A domain enum reaches the schema with a description of each value, and cannot be registered
without one for every member (the schema lint, `make lint-schema`, checks the whole SDL)."""

from __future__ import annotations

import enum

import pytest
from graphql import GraphQLEnumType

from schema.enums import described_enum
from schema.root import build_schema


def test_an_error_code_is_described_in_the_schema() -> None:
    schema = build_schema()._schema

    code = schema.type_map["CartErrorCode"]

    assert isinstance(code, GraphQLEnumType)
    assert code.values["CART_NOT_FOUND"].description == "No guest cart has that token."


def test_a_member_without_a_description_is_refused() -> None:
    class Colour(enum.StrEnum):
        RED = "RED"
        GREEN = "GREEN"

    with pytest.raises(TypeError, match=r"Colour: undescribed \['GREEN'\], not members \[\]"):
        described_enum(Colour, "Colours.", {"RED": "Red."})


def test_a_description_of_no_member_is_refused() -> None:
    class Colour(enum.StrEnum):
        RED = "RED"

    with pytest.raises(TypeError, match=r"undescribed \[\], not members \['BLUE'\]"):
        described_enum(Colour, "Colours.", {"RED": "Red.", "BLUE": "Blue."})

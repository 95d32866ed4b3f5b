"""A root field's arguments converted as Strawberry converts them, with the decisions made once.

Strawberry's `convert_arguments` works out at every call what each argument's type is (optional,
list, scalar, enum, input object), the GraphQL name of each input field and each field's type:
0.14 ms for `products(first:, search:, filter:)` with a filter of five fields, a tenth of a
compiled read's own work. `argument_converter` works that out once per plan and keeps, per
type, a function doing only what Strawberry's conversion would then do: the same constructors
with the same values, so every request still gets objects of its own. What it does not know
(`Maybe`, input types that build their own value through `from_input`, GlobalID scalars, an
input type that holds itself, any other type) is left to Strawberry's own conversion, for the
whole argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import StrawberryArgument, convert_argument
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    StrawberryType,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

from schema.compiled_reads.running import NormalPathError

Convert = Callable[[Any], Any]


class _UnknownTypeError(Exception):
    """A type this module leaves to Strawberry's own conversion."""


def argument_converter(
    arguments: list[StrawberryArgument], scalar_registry: Mapping[object, Any], config: Any
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What converts a field's raw argument values (graphql-core's `get_argument_values`) into
    its resolver's keyword arguments, as `strawberry.types.arguments.convert_arguments` does."""
    steps: list[tuple[str, str, Convert]] = []
    for argument in arguments:
        assert argument.python_name
        name = config.name_converter.from_argument(argument)
        try:
            convert = _converter(argument.type, scalar_registry, config)
        except (_UnknownTypeError, RecursionError):  # an input type holding itself, too
            convert = _strawberrys(argument.type, name, scalar_registry, config)
        steps.append((name, argument.python_name, convert))

    def converted(raw: dict[str, Any]) -> dict[str, Any]:
        return {python: convert(raw[name]) for name, python, convert in steps if name in raw}

    return converted


def _strawberrys(type_: Any, name: str, scalar_registry: Any, config: Any) -> Convert:
    def convert(value: Any) -> Any:
        return convert_argument(value, type_, scalar_registry, config, None, path=(name,))

    return convert


def _converter(type_: StrawberryType | type, scalar_registry: Any, config: Any) -> Convert:
    if isinstance(type_, StrawberryMaybe):
        raise _UnknownTypeError
    if isinstance(type_, StrawberryOptional):
        return _converter(type_.of_type, scalar_registry, config)
    if isinstance(type_, LazyType):
        return _converter(type_.resolve_type(), scalar_registry, config)
    if isinstance(type_, StrawberryList):
        if _is_leaf(type_.of_type, scalar_registry):
            # Copied all the same: graphql-core hands every request the same default list.
            return _absent_or(list)
        item = _converter(type_.of_type, scalar_registry, config)
        return _absent_or(lambda values: [item(value) for value in values])
    if _is_leaf(type_, scalar_registry):
        return _same
    if has_enum_definition(type_):
        return _same  # graphql-core parsed it to the enum's member already
    if has_object_definition(type_):
        return _input_converter(type_, scalar_registry, config)
    raise _UnknownTypeError


def _input_converter(type_: Any, scalar_registry: Any, config: Any) -> Convert:
    definition = type_.__strawberry_definition__
    if definition.from_input is not None or not definition.is_input:
        raise _UnknownTypeError
    required = [
        field.python_name
        for field in definition.fields
        if field.default_value is MISSING and field.default_factory is MISSING
    ]
    fields = [
        (
            config.name_converter.from_field(field),
            field.python_name,
            _converter(field.resolve_type(type_definition=definition), scalar_registry, config),
        )
        for field in definition.fields
    ]

    def convert(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        if not isinstance(value, Mapping):
            raise NormalPathError(f"{definition.name}: not an input object")
        kwargs: dict[str, Any] = dict.fromkeys(required)
        for name, python, field_convert in fields:
            if name in value:
                kwargs[python] = field_convert(value[name])
        return type_(**kwargs)

    return convert


def _is_leaf(type_: Any, scalar_registry: Any) -> bool:
    if isinstance(type_, LazyType):
        return _is_leaf(type_.resolve_type(), scalar_registry)
    if type_ is GlobalID:
        raise _UnknownTypeError  # parsed into a GlobalID, with its own errors
    return is_scalar(type_, scalar_registry) or isinstance(type_, StrawberryEnumDefinition)


def _same(value: Any) -> Any:
    return value


def _absent_or(convert: Convert) -> Convert:
    def converted(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        return convert(value)

    return converted

"""A compiled operation and one request's run of it (`plan.py` compiles it)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLObjectType, OperationDefinitionNode
from graphql.execution.values import VariableValues
from strawberry import relay
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE

from resolvers.context import Context

# Passes a run may make before it gives up (a product page takes two: the product with its
# categories, then nothing pending; a category's parent one more).
MAX_PASSES = 4


class NormalPathError(Exception):
    """The plan cannot answer this request exactly as the normal path would."""


class _Info:
    """What the resolvers a plan calls read of Strawberry's `Info`: the context. Anything else
    they ask for raises AttributeError, and the normal path answers."""

    __slots__ = ("context",)

    def __init__(self, context: Context) -> None:
        self.context = context


@dataclass
class Run:
    """One request's run of a plan: its context, variables, and the values resolved so far,
    by (parent object, response key)."""

    context: Context
    variables: VariableValues
    info: _Info = field(init=False)
    resolved: dict[tuple[int, str], Any] = field(default_factory=dict)
    pending: dict[tuple[int, str], Awaitable[Any]] = field(default_factory=dict)
    # Parents of resolved values, kept alive so that their ids are not reused.
    parents: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.info = _Info(self.context)


# A value, from its parent object, to its JSON value.
Emit = Callable[[Any, Run], Any]
# A parent object to the field's value (or an awaitable of it).
Read = Callable[[Any, Run], Any]
# Not resolved yet (a resolved value may be None).
NOT_YET = object()


@dataclass(frozen=True)
class CompiledOperation:
    """A document's operation, compiled: run it for a request's `data`."""

    document: DocumentNode
    operation: OperationDefinitionNode
    # The operation a request runs without `operationName`: the document's only one.
    default_operation_name: str | None
    _emit: Emit

    async def data(self, context: Context, variables: VariableValues) -> dict[str, Any]:
        """The operation's `data` for these (coerced) variables; raises `NormalPathError`, or what a
        resolver raised, when the normal path must answer."""
        run = Run(context, variables)
        for _ in range(MAX_PASSES):
            data = self._emit(None, run)
            if not run.pending:
                result: dict[str, Any] = data
                return result
            pending, run.pending = run.pending, {}
            # Together, so that the loaders they call batch their keys; each one finishes
            # before an error is raised, so nothing is left running for the normal path.
            values = await asyncio.gather(*pending.values(), return_exceptions=True)
            for value in values:
                if isinstance(value, BaseException):
                    raise value
            run.resolved.update(zip(pending, values, strict=True))
        raise NormalPathError(f"still pending after {MAX_PASSES} passes")


def type_check(object_type: GraphQLObjectType, definition: Any) -> Callable[[Any], bool]:
    """Whether a value may complete as `object_type`, as graphql-core checks it (`is_type_of`).
    Strawberry's own predicate reads no `info` and, but for a value cast to a type
    (`strawberry.cast`), decides by the value's class: its answer is kept per class."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return lambda value: True
    if getattr(definition, "is_type_of", None) is not None:  # the type's own: ask every time
        return lambda value: is_type_of(value, None) is True  # type: ignore[arg-type]
    by_class: dict[type, bool] = {}

    def accepts(value: Any) -> bool:
        if getattr(value, TYPE_CAST_ATTRIBUTE, None) is not None:
            return is_type_of(value, None) is True  # type: ignore[arg-type]
        kind = type(value)
        accepted = by_class.get(kind)
        if accepted is None:
            accepted = by_class[kind] = is_type_of(value, None) is True  # type: ignore[arg-type]
        return accepted

    return accepts


def global_id_reader(type_name: str, origin: type[relay.Node]) -> Read:
    """A node's `id` as Strawberry's `Node._id` gives it: the global ID of its type name and the
    id its `resolve_id` returns."""

    def read(value: Any, run: Run) -> Any:
        node_id = origin.resolve_id(value, info=run.info)  # type: ignore[arg-type]
        if node_id is None or inspect.isawaitable(node_id):
            raise NormalPathError("an id that is not at hand")
        return relay.GlobalID(type_name=type_name, node_id=str(node_id))

    return read

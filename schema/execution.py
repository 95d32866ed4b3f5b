"""GraphQL execution with a short path for plain fields.

graphql-core resolves every field the same way: a `GraphQLResolveInfo` built, arguments
coerced, the resolver called (for Strawberry, through three wrappers), the value completed
through the non-null, list, leaf and object branches. Most fields of a catalog page are plain
attributes read by Strawberry's default resolver: a product's name and slug, its `finalPrice`
object, an edge's `node`. `FastFieldsExecutionContext` reads those directly and serializes a
scalar or executes an object's selections itself.

Anything out of the ordinary (an argument, a resolver that raises, a null in a non-null field, a
value the scalar refuses, an object `is_type_of` refuses, field middleware) goes through
graphql-core's own path, which then reports it exactly as before. Errors inside an object's
selections are handled as graphql-core handles them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


@dataclass(frozen=True)
class _Plan:
    """How to read a plain field: Strawberry's default resolver and the attribute it reads, the
    field's type, and the scalar/enum or object type under a non-null wrapper (lists excluded)."""

    read: Callable[[Any, str], Any]
    attribute: str
    field_type: GraphQLOutputType
    non_null: bool
    leaf: Any | None
    object_type: GraphQLObjectType | None


# Plans by schema (gone with it), then by field id; a field is kept with its plan, so its id
# cannot be reused by another field meanwhile.
_plans: weakref.WeakKeyDictionary[GraphQLSchema, dict[int, tuple[GraphQLField, _Plan | None]]]
_plans = weakref.WeakKeyDictionary()


def _plan(schema: GraphQLSchema, field: GraphQLField) -> _Plan | None:
    """The plan of a field that Strawberry resolves with its default resolver and nothing else
    (`is_basic_field`), has no arguments, and is a scalar, an enum or an object; None otherwise."""
    plans = _plans.get(schema)
    if plans is None:
        plans = _plans[schema] = {}
    cached = plans.get(id(field))
    if cached is not None and cached[0] is field:
        return cached[1]
    plan = None
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    non_null = isinstance(field.type, GraphQLNonNull)
    named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if (
        getattr(field.resolve, "_is_default", False)
        and isinstance(definition, StrawberryField)
        and definition.is_basic_field
        and not field.args
        and (is_leaf_type(named) or isinstance(named, GraphQLObjectType))
    ):
        plan = _Plan(
            read=definition.default_resolver,
            attribute=definition.python_name,
            field_type=field.type,
            non_null=non_null,
            leaf=named if is_leaf_type(named) else None,
            object_type=named if isinstance(named, GraphQLObjectType) else None,
        )
    plans[id(field)] = (field, plan)
    return plan


class FastFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, reading plain fields without graphql-core's per-field
    machinery."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        field = parent_type.fields.get(node.name.value)
        plan = _plan(self.schema, field) if field is not None and not node.arguments else None
        manager = self.middleware_manager
        if plan is not None and (manager is None or not manager.middlewares):
            try:
                value = plan.read(source, plan.attribute)
            except Exception:
                value = Undefined  # graphql-core's path below reports it
            if value is None and not plan.non_null:
                return None
            # An exception returned as a value is raised by graphql-core's path as an error.
            if value is not None and value is not Undefined and not isinstance(value, Exception):
                if plan.leaf is not None:
                    completed = self._serialize(plan.leaf, value)
                    if completed is not Undefined:
                        return completed
                elif plan.object_type is not None and self._is_type_of(
                    plan.object_type, value, field, field_details_list, parent_type, path
                ):
                    return self._execute_object(
                        plan, value, field_details_list, path, position_context
                    )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    @staticmethod
    def _serialize(leaf: Any, value: Any) -> Any:
        try:
            coerced = leaf.coerce_output_value(value)
        except Exception:
            return Undefined
        return Undefined if coerced is None else coerced

    def _is_type_of(
        self,
        object_type: GraphQLObjectType,
        value: Any,
        field: GraphQLField,
        field_details_list: Any,
        parent_type: GraphQLObjectType,
        path: Path,
    ) -> bool:
        """Whether `value` may complete as `object_type` here; False (graphql-core decides and
        reports) for a predicate that refuses it, raises or is asynchronous."""
        if object_type.is_type_of is None:
            return True
        info = self.build_resolve_info(
            field, [details.node for details in field_details_list], parent_type, path
        )
        try:
            accepted = object_type.is_type_of(value, info)
        except Exception:
            return False
        return accepted is True

    def _execute_object(
        self,
        plan: _Plan,
        value: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        """The object's selections, with errors handled as `execute_field` handles them."""
        assert plan.object_type is not None
        try:
            completed = self.collect_and_execute_subfields(
                plan.object_type, field_details_list, path, value, position_context
            )
        except Exception as error:
            self.handle_field_error(error, plan.field_type, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as error:
                self.handle_field_error(error, plan.field_type, field_details_list, path)
                return None

        return await_completed()

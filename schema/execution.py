"""GraphQL execution with a short path for plain scalar fields.

graphql-core resolves every field the same way: a `GraphQLResolveInfo` built, arguments
coerced, the resolver called, the value completed through the non-null, list, leaf and object
branches, about 15 µs of Python each. Most fields of a catalog page (a product's name, slug,
price amount) are attributes read by Strawberry's default resolver and returned as scalars, and
need none of that: `FastFieldsExecutionContext` reads them and serializes them directly.

Anything out of the ordinary (an argument, a resolver that raises, a null in a non-null field,
a value the scalar refuses, field middleware) goes through graphql-core's own path, which then
reports it exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

# The plan of one field: Strawberry's default resolver and the attribute it reads, the leaf type
# and whether it is non-null; None for the general path.
_LeafPlan = tuple[Callable[[Any, str], Any], str, GraphQLLeafType, bool] | None
_plans: dict[int, tuple[GraphQLField, _LeafPlan]] = {}


def _leaf_plan(field: GraphQLField) -> _LeafPlan:
    """How to read `field` directly: Strawberry's default resolver (`_is_default`) of a scalar or
    enum field without arguments; None for every other field."""
    cached = _plans.get(id(field))
    if cached is not None and cached[0] is field:
        return cached[1]
    plan: _LeafPlan = None
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    non_null = isinstance(field.type, GraphQLNonNull)
    leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    # Strawberry marks the resolver of a field without resolver, permissions or extensions
    # (`is_basic_field`): it calls `default_resolver(source, python_name)` and nothing else.
    if (
        getattr(field.resolve, "_is_default", False)
        and isinstance(definition, StrawberryField)
        and definition.is_basic_field
        and not field.args
        and is_leaf_type(leaf)
    ):
        plan = (definition.default_resolver, definition.python_name, leaf, non_null)
    # The field is kept with its plan, so its id cannot be reused by another field meanwhile.
    _plans[id(field)] = (field, plan)
    return plan


class FastFieldsExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, reading plain scalar fields without graphql-core's
    per-field machinery."""

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
        plan = _leaf_plan(field) if field is not None and not node.arguments else None
        manager = self.middleware_manager
        if plan is not None and (manager is None or not manager.middlewares):
            read, attribute, leaf_type, non_null = plan
            try:
                value = read(source, attribute)
                if value is None:
                    if not non_null:
                        return None
                else:
                    coerced = leaf_type.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # noqa: S110 -- graphql-core's path below reports it
                pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

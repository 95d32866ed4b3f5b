"""A query document compiled once into a plan that writes its `data` directly.

graphql-core executes every field of every request the same general way (README, "Cache
misses"). A plan is worked out once per document instead: for each selection, the response key,
how to read the value from its parent (an attribute, as Strawberry's default resolver reads it,
or the field's own resolver called as Strawberry calls it) and how to complete it (the GraphQL
scalar's own `serialize`, each list item, each object's selections). Running it builds the same
`data` graphql-core would, from the same Strawberry objects and resolvers.

Only what this module can answer exactly as graphql-core does compiles: one query operation,
fields of object types (no interfaces or unions below the root), fragments on the very type they
select from, no directives, arguments on root fields only, and only the root fields of
`ROOT_FIELDS`. Anything else compiles to None, and at run time anything unusual (an error, a
null in a non-null field, a value a scalar refuses, an object of an unexpected class) raises
`NormalPathError`: the normal path then answers the request, and reports it as it always has.

A resolver may return an awaitable (a loader's, a count): a run makes passes over the plan,
awaits what a pass left pending all together (so loaders batch them), keeps the results (and
every resolver's value, so that the objects below stay the same from pass to pass), and makes
the next pass with them, until nothing is pending.
"""

from __future__ import annotations

import inspect
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values
from strawberry import relay
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from resolvers.catalog import prime_product_with_categories
from schema.catalog import PRODUCT_FIELDS_READ_BY_ONE, product_connection
from schema.compiled_reads.arguments import argument_converter
from schema.compiled_reads.running import (
    NOT_YET,
    CompiledOperation,
    Emit,
    NormalPathError,
    Read,
    Run,
    global_id_reader,
    type_check,
)
from schema.ids import decode_global_id

# Root fields a plan answers, and what resolves each: Strawberry's own resolver, or (the product
# list, whose resolver reads the selection from its `info`) `product_connection`.
ROOT_FIELDS = frozenset({"product", "products"})
_RELATIONS = frozenset({"category", "subcategory"})


def compile_operation(
    schema: Any, document: DocumentNode, operation_name: str | None
) -> CompiledOperation | None:
    """The plan of the operation `operation_name` names (or the only one) of a valid document;
    None when it is no query or holds anything a plan does not answer exactly."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if operation_name is None:
        operation = operations[0] if len(operations) == 1 else None
    else:
        named = [o for o in operations if o.name and o.name.value == operation_name]
        operation = named[0] if len(named) == 1 else None
    if operation is None or operation.operation is not OperationType.QUERY or operation.directives:
        return None
    if any(definition.directives for definition in operation.variable_definitions or ()):
        return None
    compiler = _Compiler(schema, fragments)
    query_type = schema._schema.query_type
    try:
        emit = compiler.selections(query_type, operation.selection_set, root=True)
    except NormalPathError:
        return None
    only = operations[0] if len(operations) == 1 else None
    return CompiledOperation(
        document=document,
        operation=operation,
        default_operation_name=only.name.value if only and only.name else None,
        _emit=emit,
    )


class _Compiler:
    def __init__(self, schema: Any, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments

    def collect(
        self, object_type: GraphQLObjectType, selection_set: SelectionSetNode
    ) -> dict[str, list[FieldNode]]:
        """The fields of a selection set by response key, in graphql-core's order, fragments
        merged in (those on exactly this type only)."""
        collected: dict[str, list[FieldNode]] = {}
        self._collect_into(collected, object_type, selection_set, set())
        return collected

    def _collect_into(
        self,
        collected: dict[str, list[FieldNode]],
        object_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        spread: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise NormalPathError("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                collected.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in spread:
                    continue
                spread.add(name)
                fragment: Any = self.fragments.get(name)
                if fragment is None or fragment.directives:
                    raise NormalPathError("fragment")
            else:
                assert isinstance(selection, InlineFragmentNode)
                fragment = selection
            condition = fragment.type_condition
            if condition is not None and condition.name.value != object_type.name:
                raise NormalPathError("a fragment on another type")
            self._collect_into(collected, object_type, fragment.selection_set, spread)

    def selections(
        self, object_type: GraphQLObjectType, selection_set: SelectionSetNode, *, root: bool
    ) -> Emit:
        """An object's selections, as a dict in graphql-core's key order."""
        fields = [
            (key, self.field(object_type, nodes, root=root))
            for key, nodes in self.collect(object_type, selection_set).items()
        ]

        def emit(value: Any, run: Run) -> dict[str, Any]:
            return {key: emit_field(value, run) for key, emit_field in fields}

        return emit

    def field(self, parent: GraphQLObjectType, nodes: list[FieldNode], *, root: bool) -> Emit:
        node = nodes[0]
        name = node.name.value
        key = node.alias.value if node.alias else name
        if name == "__typename":
            typename = parent.name
            return lambda value, run: typename
        definition = parent.fields.get(name)
        if definition is None:
            raise NormalPathError(f"no field {name}")
        if any(n.arguments for n in nodes) and not root:
            raise NormalPathError("arguments below the root")
        complete = self.complete(definition.type, nodes)
        attribute = self.plain_attribute(parent, name, definition) if not root else None
        if attribute is not None:
            # Strawberry's default resolver: `getattr`. What it returns is never awaited here;
            # an awaitable completes as no scalar, list or object, and the normal path answers.
            def plain(value: Any, run: Run) -> Any:
                return complete(getattr(value, attribute), run)

            return plain
        read = self.read(parent, name, definition, nodes, root=root)

        def emit(value: Any, run: Run) -> Any:
            resolved_key = (id(value), key)
            found = run.resolved.get(resolved_key, NOT_YET)
            if found is NOT_YET:
                found = read(value, run)
                run.parents.append(value)
                if inspect.isawaitable(found):
                    run.pending[resolved_key] = found
                    return None
                # Kept, so that the objects below are the same ones in the next pass.
                run.resolved[resolved_key] = found
            return complete(found, run)

        return emit

    def read(
        self,
        parent: GraphQLObjectType,
        name: str,
        definition: GraphQLField,
        nodes: list[FieldNode],
        *,
        root: bool,
    ) -> Read:
        strawberry_field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(strawberry_field, StrawberryField):
            raise NormalPathError(f"{parent.name}.{name} is no Strawberry field")
        if strawberry_field.permission_classes or strawberry_field.extensions:
            raise NormalPathError(f"{parent.name}.{name} has permissions or extensions")
        if root:
            return self._root_read(name, definition, strawberry_field, nodes)
        type_definition = self.schema.get_type_by_name(parent.name)
        if name == "id" and isinstance(type_definition, StrawberryObjectDefinition):
            origin = type_definition.origin
            if isinstance(origin, type) and issubclass(origin, relay.Node):
                return global_id_reader(parent.name, origin)
        resolver = strawberry_field.base_resolver
        if resolver is None or (definition.args and any(n.arguments for n in nodes)):
            raise NormalPathError(f"{parent.name}.{name}")
        if resolver.root_parameter or resolver.parent_parameter:
            raise NormalPathError(f"{parent.name}.{name} takes its parent by name")
        takes_self = resolver.self_parameter is not None
        info_parameter = resolver.info_parameter
        info_name = info_parameter.name if info_parameter is not None else None

        def call(value: Any, run: Run) -> Any:
            kwargs = {info_name: run.info} if info_name else {}
            return resolver(value, **kwargs) if takes_self else resolver(**kwargs)

        return call

    def plain_attribute(
        self, parent: GraphQLObjectType, name: str, definition: GraphQLField
    ) -> str | None:
        """The attribute a field is read from by Strawberry's default resolver and nothing else;
        None for a field with a resolver, permissions or extensions (a node's `id` included)."""
        strawberry_field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if (
            isinstance(strawberry_field, StrawberryField)
            and getattr(definition.resolve, "_is_default", False)
            and strawberry_field.is_basic_field
            and not strawberry_field.permission_classes
            and not strawberry_field.extensions
            and not definition.args
        ):
            return strawberry_field.python_name
        return None

    def _root_read(
        self,
        name: str,
        definition: GraphQLField,
        strawberry_field: StrawberryField,
        nodes: list[FieldNode],
    ) -> Read:
        if name not in ROOT_FIELDS or len(nodes) > 1:
            raise NormalPathError(f"root field {name}")
        node = nodes[0]
        schema = self.schema
        convert = argument_converter(
            strawberry_field.arguments, schema.schema_converter.scalar_registry, schema.config
        )

        def kwargs_of(run: Run) -> dict[str, Any]:
            return convert(get_argument_values(definition, node, run.variables))

        if name == "products":
            selected = self._fields_below(definition, node, ("edges", "node"))
            on_edges = self._fields_below(definition, node, ("edges",))
            related = selected & _RELATIONS | on_edges & {"highlights"}
            unread = [
                stored
                for stored, read_by in PRODUCT_FIELDS_READ_BY_ONE.items()
                if read_by not in selected
            ]

            def products(value: Any, run: Run) -> Any:
                return product_connection(
                    run.context,
                    related,
                    None,
                    categories_in_page=True,
                    unread_fields=unread,
                    **kwargs_of(run),
                )

            return products
        resolver = strawberry_field.base_resolver
        assert resolver is not None
        assert resolver.info_parameter is not None
        info_name = resolver.info_parameter.name
        # As Strawberry calls it: the root value (None) as `self`, if it takes one.
        root_value: tuple[Any, ...] = (None,) if resolver.self_parameter else ()
        product_type = _named_type(definition.type)
        joined = [
            f"{name}_id" for name in sorted(self._selected_names(product_type, nodes) & _RELATIONS)
        ]

        async def call(value: Any, run: Run) -> Any:
            kwargs = kwargs_of(run)
            if joined:
                # The product and its categories in one command, into the loaders it reads.
                await prime_product_with_categories(
                    run.context,
                    product_id=decode_global_id(kwargs.get("id"), "Product"),
                    slug=kwargs.get("slug"),
                    fields=joined,
                )
            return await resolver(*root_value, **{info_name: run.info}, **kwargs)

        return call

    def _selected_names(self, object_type: Any, nodes: list[FieldNode]) -> set[str]:
        """The names of the fields `nodes` select on an object type (fragments included)."""
        if not isinstance(object_type, GraphQLObjectType):
            return set()
        return {
            selected.name.value
            for node in nodes
            if node.selection_set is not None
            for group in self.collect(object_type, node.selection_set).values()
            for selected in group
        }

    def _fields_below(
        self, definition: GraphQLField, node: FieldNode, path: tuple[str, ...]
    ) -> set[str]:
        """The fields a product list selects at `path` (on each of its products: `edges`,
        `node`; fragments included; directives are refused before): the categories among them
        are loaded with the page, as `resolve_products` loads them, and stored fields none of
        them reads are left out of its rows; on its edges, whether it wants highlights."""
        nodes = [node]
        field_type: Any = definition.type
        for step in path:
            named = _named_type(field_type)
            if not isinstance(named, GraphQLObjectType) or step not in named.fields:
                return set()
            nodes = [
                selected
                for parent in nodes
                if parent.selection_set is not None
                for group in self.collect(named, parent.selection_set).values()
                for selected in group
                if selected.name.value == step
            ]
            field_type = named.fields[step].type
        return self._selected_names(_named_type(field_type), nodes)

    def complete(self, field_type: GraphQLOutputType, nodes: list[FieldNode]) -> Any:
        """Value to JSON, as graphql-core's `complete_value` for these types."""
        if isinstance(field_type, GraphQLNonNull):
            inner = self.complete(field_type.of_type, nodes)

            def non_null(value: Any, run: Run) -> Any:
                completed = inner(value, run)
                if completed is None:
                    raise NormalPathError("null in a non-null field")
                return completed

            return non_null
        if isinstance(field_type, GraphQLList):
            item = self.complete(field_type.of_type, nodes)

            def items(value: Any, run: Run) -> Any:
                if value is None:
                    return None
                if isinstance(value, (str, bytes, dict)):
                    raise NormalPathError("not a list")
                return [item(each, run) for each in value]

            return items
        if is_leaf_type(field_type):
            serialize = field_type.serialize

            def leaf(value: Any, run: Run) -> Any:
                if value is None:
                    return None
                if isinstance(value, Exception):
                    raise NormalPathError("an error as a value")
                serialized = serialize(value)
                if serialized is None:
                    raise NormalPathError("a value the scalar refuses")
                return serialized

            return leaf
        if not isinstance(field_type, GraphQLObjectType):
            raise NormalPathError("an abstract type")
        merged = SelectionSetNode(
            selections=tuple(
                selection
                for node in nodes
                if node.selection_set is not None
                for selection in node.selection_set.selections
            )
        )
        selections = self.selections(field_type, merged, root=False)
        accepts = type_check(field_type, self.schema.get_type_by_name(field_type.name))

        def obj(value: Any, run: Run) -> Any:
            if value is None:
                return None
            if not accepts(value):
                raise NormalPathError(f"not a {field_type.name}")
            return selections(value, run)

        return obj


def _named_type(field_type: Any) -> Any:
    while isinstance(field_type, (GraphQLNonNull, GraphQLList)):
        field_type = field_type.of_type
    return field_type

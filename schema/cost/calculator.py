"""The cost of one operation: requested (from the document and variables, before it runs) and
actual (the same rules applied to the data it returned).

Fields are collected as execution collects them: fragments (named and inline) where their type
condition applies, `@skip`/`@include` with the request's variables, and fields that share a
response key merged into one, so an alias costs what its field costs and a field selected twice
under one key is charged once. A field of an interface or union type costs what its most
expensive possible type's selection costs (requested) or what the returned object's type costs
(actual).

The cost depends on the variables (`first: $n`), so it is computed for every request rather than
cached with the document. The computation memoizes each field group per parent type, so it grows
with the document, not with the number of paths a fragment is reached by, and it gives up (the
query is then too complex) after `MAX_WORK` steps, whatever the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
)
from graphql.execution.values import get_argument_values, get_directive_values, get_variable_values

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from schema.cost.rules import (
    CONNECTION_COST,
    MUTATION_COST,
    OBJECT_COST,
    FieldCost,
)

# Steps (selections visited, fields priced) one computation may take. A 5,000-token document
# takes a few thousand; past this the query is refused rather than priced.
MAX_WORK = 100_000
# Costs are reported as JSON numbers; larger ones (nested pages multiply) are reported as this.
COST_CEILING = 2**53 - 1
# A list of objects the rules give no size: charged like a default page.
DEFAULT_LIST_SIZE = DEFAULT_PAGE_SIZE
_ITEM_FIELDS = ("edges", "nodes")
# Stands for "no data: price what the document may return".
_REQUESTED: Any = object()


class CostUnboundedError(Exception):
    """The document is too large to price within `MAX_WORK` steps."""


FieldGroup = tuple[FieldNode, ...]
SelectionSets = tuple[SelectionSetNode, ...]


class QueryCost:
    """Prices one operation of a parsed, validated document. Build one per request: `requested()`
    before execution, `actual(data)` after; they share what was collected."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        fields: Mapping[str, FieldCost],
        *,
        max_work: int = MAX_WORK,
    ) -> None:
        self._schema = schema
        self._fields = fields
        self._max_work = max_work
        self._work = 0
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self._operation = get_operation_ast(document, operation_name)
        self._variables: Any = None
        if self._operation is not None:
            coerced = get_variable_values(
                schema, self._operation.variable_definitions or (), dict(variables or {})
            )
            if not isinstance(coerced, list):  # a list is the coercion errors
                self._variables = coerced
        self._collected: dict[tuple[Any, ...], dict[str, list[FieldNode]]] = {}
        self._priced: dict[tuple[Any, ...], int] = {}

    def _root_type(self) -> GraphQLObjectType | None:
        if self._operation is None or self._variables is None:
            return None
        return {
            OperationType.QUERY: self._schema.query_type,
            OperationType.MUTATION: self._schema.mutation_type,
            OperationType.SUBSCRIPTION: self._schema.subscription_type,
        }[self._operation.operation]

    def requested(self) -> int | None:
        """The most the operation may cost; None when it cannot run (no such operation, or
        variables that do not fit their types: execution reports why, before any work).
        Raises `CostUnboundedError` for a document too large to price."""
        root = self._root_type()
        if root is None or self._operation is None:
            return None
        cost = self._object_selection(root, (self._operation.selection_set,), _REQUESTED)
        return min(cost, COST_CEILING)

    def actual(self, data: Mapping[str, Any]) -> int | None:
        """What the operation cost, priced on the data it returned."""
        root = self._root_type()
        if root is None or self._operation is None:
            return None
        return min(
            self._object_selection(root, (self._operation.selection_set,), data), COST_CEILING
        )

    # Pricing. `value` is the data the field returned, or `_REQUESTED` before execution.

    def _object_selection(
        self, object_type: GraphQLObjectType, selection_sets: SelectionSets, value: Any
    ) -> int:
        if value is not _REQUESTED and not isinstance(value, Mapping):
            return 0
        total = 0
        for key, nodes in self._collect(selection_sets, object_type).items():
            if value is _REQUESTED:
                total += self._field(object_type, tuple(nodes), _REQUESTED)
            elif key in value:
                total += self._field(object_type, tuple(nodes), value[key])
        return total

    def _selection(self, named: GraphQLNamedType, selection_sets: SelectionSets, value: Any) -> int:
        if not selection_sets:
            return 0
        if isinstance(named, GraphQLObjectType):
            return self._object_selection(named, selection_sets, value)
        if not is_abstract_type(named):
            return 0
        possible = self._schema.get_possible_types(named)
        if value is not _REQUESTED and isinstance(value, Mapping):
            # The runtime type is the one whose collected fields are exactly the keys returned.
            keys = set(value)
            matching = [t for t in possible if set(self._collect(selection_sets, t)) == keys]
            possible = matching or possible
        return max((self._object_selection(t, selection_sets, value) for t in possible), default=0)

    def _field(self, parent: GraphQLObjectType, nodes: FieldGroup, value: Any) -> int:
        memo_key = (parent.name, *map(id, nodes))
        if value is _REQUESTED and memo_key in self._priced:
            return self._priced[memo_key]
        self._spend()
        cost = self._price_field(parent, nodes, value)
        if value is _REQUESTED:
            self._priced[memo_key] = cost
        return cost

    def _price_field(self, parent: GraphQLObjectType, nodes: FieldGroup, value: Any) -> int:
        node = nodes[0]
        name = node.name.value
        rule = self._fields.get(f"{parent.name}.{name}") or self._fields.get(f"*.{name}")
        if rule is not None and rule.whole:
            return rule.cost or 0
        field = parent.fields.get(name)
        if field is None:  # __typename, or a meta field the rules do not price
            return 0
        named = get_named_type(field.type)
        connection = _is_connection(field, named)
        own = rule.cost if rule is not None and rule.cost is not None else 0
        if rule is None or rule.cost is None:
            if parent is self._schema.mutation_type:
                own = MUTATION_COST
            elif connection:
                own = CONNECTION_COST
            elif not is_leaf_type(named):
                own = OBJECT_COST
        if is_leaf_type(named) or value is None:
            return own
        selection_sets = tuple(n.selection_set for n in nodes if n.selection_set)
        if connection:
            assert isinstance(named, GraphQLObjectType)
            return own + self._connection(named, selection_sets, field, node, value)
        if is_list_type(get_nullable_type(field.type)):
            per_element = rule.per_element if rule is not None else 0
            if value is _REQUESTED:
                size = self._list_size(rule, field, node)
                return own + size * (per_element + self._selection(named, selection_sets, value))
            elements = value if isinstance(value, list) else []
            return own + sum(
                per_element + (0 if e is None else self._selection(named, selection_sets, e))
                for e in elements
            )
        return own + self._selection(named, selection_sets, value)

    def _connection(
        self,
        connection: GraphQLObjectType,
        selection_sets: SelectionSets,
        field: GraphQLField,
        node: FieldNode,
        value: Any,
    ) -> int:
        """A page: its edges (or nodes) times the page size; `edges`, `cursor` and `pageInfo`
        are Relay's wrappers and cost nothing themselves, so an edge costs what its node does."""
        if value is not _REQUESTED and not isinstance(value, Mapping):
            return 0
        size = self._page_size(field, node) if value is _REQUESTED else 0
        total = 0
        for key, nodes in self._collect(selection_sets, connection).items():
            name = nodes[0].name.value
            item_field = connection.fields.get(name)
            if item_field is None or name == "pageInfo":
                continue
            if value is not _REQUESTED and key not in value:
                continue
            field_value = value if value is _REQUESTED else value[key]
            if name not in _ITEM_FIELDS or not is_list_type(get_nullable_type(item_field.type)):
                total += self._field(connection, tuple(nodes), field_value)
                continue
            self._spend()
            item_type = get_named_type(item_field.type)
            item_sets = tuple(n.selection_set for n in nodes if n.selection_set)
            own = 0 if name == "edges" else OBJECT_COST
            if field_value is _REQUESTED:
                total += size * (own + self._selection(item_type, item_sets, _REQUESTED))
            elif isinstance(field_value, list):
                total += sum(
                    own + self._selection(item_type, item_sets, item)
                    for item in field_value
                    if item is not None
                )
        return total

    # Sizes.

    def _arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any] | None:
        try:
            return get_argument_values(field, node, self._variables)
        except GraphQLError:
            return None  # execution will refuse them

    def _page_size(self, field: GraphQLField, node: FieldNode) -> int:
        arguments = self._arguments(field, node) or {}
        sizes = [arguments.get("first"), arguments.get("last")]
        given = [size for size in sizes if isinstance(size, int)]
        # Beyond the maximum, the resolver refuses the page (BAD_USER_INPUT) before any work.
        return min(max(max(given, default=DEFAULT_PAGE_SIZE), 0), MAX_PAGE_SIZE)

    def _list_size(self, rule: FieldCost | None, field: GraphQLField, node: FieldNode) -> int:
        if rule is None or rule.size is None:
            return DEFAULT_LIST_SIZE
        if isinstance(rule.size, int):
            return rule.size
        return max(rule.size(self._arguments(field, node) or {}), 0)

    # Collecting fields as execution does.

    def _collect(
        self, selection_sets: SelectionSets, runtime_type: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        memo_key = (runtime_type.name, *map(id, selection_sets))
        collected = self._collected.get(memo_key)
        if collected is not None:
            return collected
        collected = {}
        spread: set[str] = set()
        # Iterative: nested inline fragments add no depth the depth limit would count.
        stack: list[Iterable[SelectionNode]] = [
            iter(selection_set.selections) for selection_set in reversed(selection_sets)
        ]
        while stack:
            selection = next(stack[-1], None)  # type: ignore[call-overload]
            if selection is None:
                stack.pop()
                continue
            self._spend()
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                collected.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, runtime_type):
                    stack.append(iter(selection.selection_set.selections))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if name in spread or fragment is None:
                    continue
                spread.add(name)
                if self._applies(fragment.type_condition, runtime_type):
                    stack.append(iter(fragment.selection_set.selections))
        self._collected[memo_key] = collected
        return collected

    def _included(self, selection: SelectionNode) -> bool:
        if not selection.directives:
            return True
        try:
            skip = get_directive_values(GraphQLSkipDirective, selection, self._variables)
            include = get_directive_values(GraphQLIncludeDirective, selection, self._variables)
        except GraphQLError:
            return True
        if skip is not None and skip.get("if") is True:
            return False
        return not (include is not None and include.get("if") is False)

    def _applies(self, condition: NamedTypeNode | None, runtime_type: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        condition_type = self._schema.get_type(condition.name.value)
        if condition_type is runtime_type:
            return True
        return is_abstract_type(condition_type) and self._schema.is_sub_type(
            condition_type,
            runtime_type,
        )

    def _spend(self) -> None:
        self._work += 1
        if self._work > self._max_work:
            raise CostUnboundedError


def _is_connection(field: GraphQLField, named: GraphQLNamedType) -> bool:
    """A Relay connection: paged by `first`/`last`, with edges."""
    return (
        ("first" in field.args or "last" in field.args)
        and isinstance(named, GraphQLObjectType)
        and "edges" in named.fields
    )

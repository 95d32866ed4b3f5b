"""The cost of one operation: requested (from the document and variables, before it runs) and
actual (the same rules applied to the data it returned).

Fields are collected as execution collects them (`collect.py`), so an alias costs what its field
costs and a field selected twice under one response key is charged once. A field of an interface
or union type costs what its most expensive possible type's selection costs (requested) or what
the returned object's type costs (actual).

The cost depends on the variables (`first: $n`), so it is computed for every request rather than
cached with the document. The computation memoizes each field group per parent type, so it grows
with the document, not with the number of paths a fragment is reached by, and it gives up (the
query is then too complex) after `MAX_WORK` steps, whatever the document.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
)
from graphql.execution.values import get_argument_values, get_variable_values

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from schema.cost.collect import FieldCollector
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


class CostUnboundedError(Exception):
    """The document is too large to price within `MAX_WORK` steps."""


FieldGroup = tuple[FieldNode, ...]
SelectionSets = tuple[SelectionSetNode, ...]


class _Kind(enum.Enum):
    LEAF = "leaf"  # a scalar or enum, or a field the rules price as a whole
    OBJECT = "object"
    LIST = "list"
    CONNECTION = "connection"


@dataclass
class _Field:
    """What pricing one group of merged fields needs, worked out once per parent type."""

    kind: _Kind
    name: str
    own: int
    named: GraphQLNamedType | None = None
    selection_sets: SelectionSets = ()
    per_element: int = 0
    size: int = 0  # a list's bound, a connection's page size
    requested: int | None = None  # memo
    # The fields selected on `named` when it is an object type, once looked up.
    selection: dict[str, _Field] | None = None


class QueryCost:
    """Prices one operation of a parsed, validated document. Build one per request: `requested()`
    before execution, `actual(data)` after; they share what was worked out."""

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
        self._rules = fields
        self._max_work = max_work
        self._work = 0
        self._operation = get_operation_ast(document, operation_name)
        self._variables: Any = None
        if self._operation is not None:
            coerced = get_variable_values(
                schema, self._operation.variable_definitions or (), dict(variables or {})
            )
            if not isinstance(coerced, list):  # a list is the coercion errors
                self._variables = coerced
        self._collector = FieldCollector(schema, document, self._variables, self._spend)
        self._selections: dict[tuple[Any, ...], dict[str, _Field]] = {}
        self._fields: dict[tuple[Any, ...], _Field] = {}

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
        cost = self._requested_selection(root, (self._operation.selection_set,))
        return min(cost, COST_CEILING)

    def actual(self, data: Mapping[str, Any]) -> int | None:
        """What the operation cost, priced on the data it returned: pages and lists as long as
        they came back, a null object as its own cost."""
        root = self._root_type()
        if root is None or self._operation is None:
            return None
        cost = self._actual_selection(root, (self._operation.selection_set,), data)
        return min(cost, COST_CEILING)

    # Before execution.

    def _requested_selection(self, named: GraphQLNamedType, selection_sets: SelectionSets) -> int:
        if not selection_sets:
            return 0
        if isinstance(named, GraphQLObjectType):
            fields = self._selection(named, selection_sets).values()
            return sum(self._requested_field(field) for field in fields)
        if not is_abstract_type(named):
            return 0
        possible = self._schema.get_possible_types(named)
        return max((self._requested_selection(t, selection_sets) for t in possible), default=0)

    def _requested_field(self, field: _Field) -> int:
        if field.requested is not None:
            return field.requested
        self._spend()
        inner = 0 if field.named is None else self._requested_items(field)
        if field.kind is _Kind.LIST:
            inner = field.size * (field.per_element + inner)
        cost = field.requested = field.own + inner
        return cost

    def _requested_items(self, field: _Field) -> int:
        assert field.named is not None
        if field.kind is not _Kind.CONNECTION:
            return self._requested_selection(field.named, field.selection_sets)
        assert isinstance(field.named, GraphQLObjectType)
        total = 0
        for part in self._selection(field.named, field.selection_sets).values():
            if _is_items(part):
                assert part.named is not None
                item = self._requested_selection(part.named, part.selection_sets)
                total += field.size * (_item_cost(part) + item)
            elif part.name != "pageInfo":
                total += self._requested_field(part)
        return total

    # After execution. `value` is what the field returned; the loops are plain, since they run
    # once per object of the answer.

    def _actual_selection(
        self, named: GraphQLNamedType, selection_sets: SelectionSets, value: Any
    ) -> int:
        if not selection_sets or not isinstance(value, Mapping):
            return 0
        if isinstance(named, GraphQLObjectType):
            return self._actual_object(self._selection(named, selection_sets), value)
        if not is_abstract_type(named):
            return 0
        possible = self._schema.get_possible_types(named)
        # The returned type is the one whose collected fields are exactly the keys returned.
        selections = [self._selection(t, selection_sets) for t in possible]
        keys = value.keys()
        candidates = [selection for selection in selections if selection.keys() == keys]
        return max((self._actual_object(s, value) for s in candidates or selections), default=0)

    def _actual_object(self, selection: dict[str, _Field], value: Mapping[str, Any]) -> int:
        total = 0
        for key, field in selection.items():
            if key in value:
                total += self._actual_field(field, value[key])
        return total

    def _actual_field(self, field: _Field, value: Any) -> int:
        kind = field.kind
        if kind is _Kind.LEAF or value is None or field.named is None:
            return field.own
        total = field.own
        if kind is _Kind.OBJECT:
            return total + self._actual_element(field, value)
        if kind is _Kind.LIST:
            for element in value if isinstance(value, list) else ():
                total += field.per_element + self._actual_element(field, element)
            return total
        if not isinstance(value, Mapping) or not isinstance(field.named, GraphQLObjectType):
            return total
        for key, part in self._selection(field.named, field.selection_sets).items():
            if key not in value or part.name == "pageInfo":
                continue
            if not _is_items(part):
                total += self._actual_field(part, value[key])
                continue
            for item in value[key] if isinstance(value[key], list) else ():
                if item is not None:
                    total += _item_cost(part) + self._actual_element(part, item)
        return total

    def _actual_element(self, field: _Field, value: Any) -> int:
        """One object `field` returned (an element, for a list)."""
        if field.selection is None and isinstance(field.named, GraphQLObjectType):
            field.selection = self._selection(field.named, field.selection_sets)
        if field.selection is None or not isinstance(value, Mapping):
            assert field.named is not None
            return self._actual_selection(field.named, field.selection_sets, value)
        return self._actual_object(field.selection, value)

    # Working out each field once.

    def _selection(
        self, object_type: GraphQLObjectType, selection_sets: SelectionSets
    ) -> dict[str, _Field]:
        """The fields `selection_sets` select on `object_type`, by response key."""
        memo_key = (object_type.name, *map(id, selection_sets))
        selection = self._selections.get(memo_key)
        if selection is None:
            selection = {
                key: self._field(object_type, tuple(nodes))
                for key, nodes in self._collector.collect(selection_sets, object_type).items()
            }
            self._selections[memo_key] = selection
        return selection

    def _field(self, parent: GraphQLObjectType, nodes: FieldGroup) -> _Field:
        memo_key = (parent.name, *map(id, nodes))
        field = self._fields.get(memo_key)
        if field is None:
            self._spend()
            field = self._fields[memo_key] = self._work_out(parent, nodes)
        return field

    def _work_out(self, parent: GraphQLObjectType, nodes: FieldGroup) -> _Field:
        node = nodes[0]
        name = node.name.value
        rule = self._rules.get(f"{parent.name}.{name}") or self._rules.get(f"*.{name}")
        if rule is not None and rule.whole:
            return _Field(_Kind.LEAF, name, rule.cost or 0)
        definition = parent.fields.get(name)
        if definition is None:  # __typename, or a meta field the rules do not price
            return _Field(_Kind.LEAF, name, 0)
        named = get_named_type(definition.type)
        connection = _is_connection(definition, named)
        if rule is not None and rule.cost is not None:
            own = rule.cost
        elif parent is self._schema.mutation_type:
            own = MUTATION_COST
        elif connection:
            own = CONNECTION_COST
        else:
            own = 0 if is_leaf_type(named) else OBJECT_COST
        if is_leaf_type(named):
            return _Field(_Kind.LEAF, name, own)
        selection_sets = tuple(n.selection_set for n in nodes if n.selection_set)
        if connection:
            size = self._page_size(definition, node)
            return _Field(_Kind.CONNECTION, name, own, named, selection_sets, size=size)
        if is_list_type(get_nullable_type(definition.type)):
            return _Field(
                _Kind.LIST,
                name,
                own,
                named,
                selection_sets,
                per_element=rule.per_element if rule is not None else 0,
                size=self._list_size(rule, definition, node),
            )
        return _Field(_Kind.OBJECT, name, own, named, selection_sets)

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

    def _spend(self) -> None:
        self._work += 1
        if self._work > self._max_work:
            raise CostUnboundedError


def _is_items(field: _Field) -> bool:
    """A connection's `edges` (or `nodes`): one element per item of the page."""
    return field.name in _ITEM_FIELDS and field.kind is _Kind.LIST


def _item_cost(field: _Field) -> int:
    # An edge is Relay's wrapper: its node is the object. `nodes` elements are the objects.
    return 0 if field.name == "edges" else OBJECT_COST


def _is_connection(field: GraphQLField, named: GraphQLNamedType) -> bool:
    """A Relay connection: paged by `first`/`last`, with edges."""
    return (
        ("first" in field.args or "last" in field.args)
        and isinstance(named, GraphQLObjectType)
        and "edges" in named.fields
    )

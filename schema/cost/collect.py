"""Collecting the fields a selection selects on an object type, as execution collects them:
fragments (named and inline) where their type condition applies, `@skip` and `@include` with the
request's variables, and fields grouped by response key (an alias is a key of its own; one field
selected twice under one key is one group)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    SelectionNode,
    SelectionSetNode,
    is_abstract_type,
)
from graphql.execution.values import get_directive_values


class FieldCollector:
    """Collects fields for one operation of `document`, with its coerced `variables`; calls
    `spend` for every selection it visits."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Any,
        spend: Callable[[], None],
    ) -> None:
        self._schema = schema
        self._variables = variables
        self._spend = spend
        self._fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }

    def collect(
        self, selection_sets: Sequence[SelectionSetNode], runtime_type: GraphQLObjectType
    ) -> dict[str, list[FieldNode]]:
        """The fields `selection_sets` select on an object of `runtime_type`, by response key."""
        collected: dict[str, list[FieldNode]] = {}
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

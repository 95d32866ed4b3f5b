"""Validation with a cheap bound first: graphql-core's check that fields under one response key
can merge compares them pairwise, so a document that selects one page hundreds of times (within
`MAX_TOKENS`) costs a second of CPU before the cost limit can refuse it. Counting its fields is
linear; a document over `MAX_QUERY_FIELDS` is refused with QUERY_TOO_COMPLEX before validating.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
)
from strawberry.extensions import ValidationCache

from documents.errors import DomainError, ErrorCode


def field_count(document: DocumentNode) -> int:
    """How many fields the document selects, counting each in fragments once."""
    count = 0
    pending = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, ExecutableDefinitionNode)
    ]
    while pending:
        for selection in pending.pop().selections:
            count += isinstance(selection, FieldNode)
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)
    return count


def too_many_fields(document: DocumentNode, max_fields: int) -> GraphQLError | None:
    """The QUERY_TOO_COMPLEX error of a document that selects more than `max_fields` fields."""
    count = field_count(document)
    if count <= max_fields:
        return None
    message = f"The document selects {count} fields; at most {max_fields} are allowed"
    limit = DomainError(
        ErrorCode.QUERY_TOO_COMPLEX, message, extensions={"fields": count, "maxFields": max_fields}
    )
    return GraphQLError(message, original_error=limit)


class BoundedValidationCache(ValidationCache):
    """`ValidationCache`, after refusing documents of more than `max_fields` fields."""

    def __init__(self, *, max_fields: int, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.max_fields = max_fields

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        too_many = too_many_fields(document, self.max_fields) if document is not None else None
        if too_many is not None:
            self.execution_context.pre_execution_errors = [too_many]
            yield
            return
        yield from super().on_validate()

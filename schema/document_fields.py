"""GraphQL objects that read their plain fields from the document they wrap, when asked.

A product page builds a `Product` object for every row, and copying all of a document's
fields into it (prices into `Money`, images into `Image`, the id into a string) cost more than
GraphQL reading the four or five a storefront asks for. A type set up with
`read_from_document` instead holds only its `_document`; each plain field is a property
reading the document, so Strawberry's default resolver (`getattr`) computes only what the query
selects. Fields with resolvers of their own are unaffected.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, TypeVar

from strawberry.types.base import get_object_definition

NodeT = TypeVar("NodeT")
Reader = str | Callable[[Any], Any]


def read_from_document(node_type: type, **readers: Reader) -> None:
    """Serve every plain field of the Strawberry type `node_type` from its `_document`: a
    reader is the document's attribute of that name, or a function of the document.

    Raises at import if a plain field has no reader, so a field added later cannot be left unset.
    """
    definition = get_object_definition(node_type, strict=True)
    plain = {
        field.python_name
        for field in definition.fields
        if field.base_resolver is None and not field.python_name.startswith("_")  # `_document`
    }
    if plain != set(readers):
        raise TypeError(
            f"{node_type.__name__}: readers for {sorted(plain - set(readers))} missing, "
            f"{sorted(set(readers) - plain)} are no plain fields"
        )
    for name, reader in readers.items():
        read: Callable[[Any], Any]
        if isinstance(reader, str):
            read = operator.attrgetter(f"_document.{reader}")
        else:
            read = _applied_to_document(reader)
        setattr(node_type, name, property(read))


def _applied_to_document(reader: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def read(node: Any) -> Any:
        return reader(node._document)

    return read


def node_for(node_type: type[NodeT], document: Any) -> NodeT:
    """An object of a type set up with `read_from_document`, wrapping `document` (the type's
    dataclass constructor would try to set the fields, which are properties now)."""
    node: NodeT = object.__new__(node_type)
    node._document = document  # type: ignore[attr-defined]
    return node

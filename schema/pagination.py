"""Relay connection types built from a resolver's `Page`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry import relay

from resolvers.pagination import Page

FirstArg = Annotated[
    int | None, strawberry.argument(description="Page size from the start, 0 to 100 (default 20).")
]
AfterArg = Annotated[str | None, strawberry.argument(description="Return items after this cursor.")]
LastArg = Annotated[
    int | None, strawberry.argument(description="Page size from the end, 0 to 100.")
]
BeforeArg = Annotated[
    str | None, strawberry.argument(description="Return items before this cursor.")
]

NodeT = TypeVar("NodeT", bound=relay.Node)


@strawberry.type(description="A page of a list, with cursors to fetch the pages around it.")
class CountedConnection(relay.Connection[NodeT], Generic[NodeT]):
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list has, over all pages.")
    async def total_count(self) -> int:
        return await self._count()

    @classmethod
    def from_page(cls, page: Page[Any], to_node: Callable[[Any], NodeT]) -> Any:
        edges = [relay.Edge(cursor=cursor, node=to_node(row)) for cursor, row in page.rows]
        return cls(edges=edges, page_info=page_info(page, edges), _count=page.count)


def page_info(page: Page[Any], edges: list[Any]) -> relay.PageInfo:
    """The `pageInfo` of a page whose edges are `edges`."""
    return relay.PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )

"""Keyset (cursor) pagination over MongoDB: deep pages cost the same as the first.

A cursor is the sort key of a row plus its `_id`, so pages stay stable under ties and concurrent
inserts. Cursors name the ordering they belong to; one from another ordering is refused.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from bson import ObjectId
from bson.errors import InvalidId

from documents.errors import InvalidInputError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

T = TypeVar("T")


@dataclass(frozen=True)
class PageArgs:
    """Relay arguments as the client sent them."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def validated(self) -> PageArgs:
        """Refuse what the connection spec leaves ambiguous or what exceeds the page limit."""
        if self.first is not None and self.last is not None:
            raise InvalidInputError("Pass either first or last, not both", field="first")
        for name in ("first", "last"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
                raise InvalidInputError(f"{name} must be between 0 and {MAX_PAGE_SIZE}", field=name)
        if self.last is not None and self.after is not None:
            raise InvalidInputError("after goes with first; use before with last", field="after")
        if self.first is not None and self.before is not None:
            raise InvalidInputError("before goes with last; use after with first", field="before")
        if self.after is not None and self.before is not None:
            raise InvalidInputError("Pass either after or before, not both", field="before")
        return self

    @property
    def forward(self) -> bool:
        return self.last is None and self.before is None

    @property
    def limit(self) -> int:
        size = self.first if self.forward else self.last
        return DEFAULT_PAGE_SIZE if size is None else size

    @property
    def cursor(self) -> str | None:
        return self.after if self.forward else self.before


@dataclass(frozen=True)
class Ordering:
    """A sort over one field (1 or -1) with `_id` as the tie-breaker, in the same direction
    unless `tie_direction` says otherwise (lowest rated first, newest first among equals)."""

    name: str  # stable name written into cursors
    field: str
    direction: int
    value_type: type  # str, int, float or datetime
    # An expression computing `field` when it is not stored, e.g. {"$meta": "textScore"}.
    computed: dict[str, Any] | None = None
    tie_direction: int | None = None

    def _directions(self, forward: bool) -> tuple[int, int]:
        tie = self.tie_direction or self.direction
        return (self.direction, tie) if forward else (-self.direction, -tie)

    def mongo_sort(self, forward: bool) -> list[tuple[str, int]]:
        direction, tie = self._directions(forward)
        return [(self.field, direction), ("_id", tie)]

    def after(self, cursor: Cursor, forward: bool) -> dict[str, Any]:
        """A filter for the rows strictly past `cursor` in the direction of travel."""
        direction, tie = self._directions(forward)
        strict, inclusive = ("$gt", "$gte") if direction == 1 else ("$lt", "$lte")
        past_tie = "$gt" if tie == 1 else "$lt"
        # The inclusive bound lets MongoDB use index bounds; the $or drops the ties already seen.
        return {
            "$and": [
                {self.field: {inclusive: cursor.value}},
                {"$or": [{self.field: {strict: cursor.value}}, {"_id": {past_tie: cursor.id}}]},
            ]
        }

    def encode(self, value: Any, row_id: ObjectId) -> str:
        plain = int(value.timestamp() * 1000) if isinstance(value, datetime) else value
        raw = orjson.dumps([self.name, plain, str(row_id)])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str | None, *, field: str) -> Cursor | None:
        """The position a cursor of this ordering names; `InvalidInputError` for anything else."""
        if cursor is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            name, plain, row_id = orjson.loads(raw)
        except (ValueError, TypeError, binascii.Error):
            raise InvalidInputError(f"{field} is not a valid cursor", field=field) from None
        if name != self.name:
            raise InvalidInputError(
                f"{field} is a cursor of another sort order or search", field=field
            )
        try:
            return Cursor(value=self._typed(plain), id=ObjectId(row_id))
        except (ValueError, TypeError, OverflowError, InvalidId):
            raise InvalidInputError(f"{field} is not a valid cursor", field=field) from None

    def _typed(self, plain: Any) -> Any:
        if type(plain) is int and not _INT64_MIN <= plain <= _INT64_MAX:
            raise ValueError("cursor value out of range")
        if self.value_type is datetime and type(plain) is int:
            return datetime.fromtimestamp(plain / 1000, tz=UTC)
        if self.value_type is float and type(plain) in (int, float) and math.isfinite(plain):
            return float(plain)
        if type(plain) is self.value_type and self.value_type is not float:
            return plain
        raise ValueError("cursor value of the wrong type")


@dataclass(frozen=True)
class Cursor:
    value: Any
    id: ObjectId


@dataclass
class Page(Generic[T]):
    """One page of rows with their cursors; `count` computes the total only when asked."""

    rows: list[tuple[str, T]]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]


async def find_page(
    run: Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]],
    conditions: list[dict[str, Any]],
    ordering: Ordering,
    args: PageArgs,
    parse: Callable[[dict[str, Any]], T],
    *,
    row_stages: Sequence[dict[str, Any]] = (),
) -> Page[T]:
    """One page of the documents matching all `conditions`, fetched by keyset, never by skip.

    `run` executes an aggregation pipeline (a `PipelineLoader`'s `load`, which batches the pages
    of nested connections into one command). `row_stages` run on the page's rows (what they
    refer to joined to them), not on the count; they must give back the same rows in the same
    order.
    """
    cursor = ordering.decode(args.cursor, field="after" if args.forward else "before")
    match = {"$match": {"$and": conditions}}
    pipeline: list[dict[str, Any]] = [match]
    if ordering.computed:
        # A computed sort key exists only inside the pipeline, after the first $match.
        pipeline.append({"$addFields": {ordering.field: ordering.computed}})
    if cursor:
        pipeline.append({"$match": ordering.after(cursor, args.forward)})
    # One row more than asked tells whether there is a next page, also for first: 0.
    pipeline += [{"$sort": dict(ordering.mongo_sort(args.forward))}, {"$limit": args.limit + 1}]
    pipeline += row_stages
    rows = await run(pipeline)

    async def count() -> int:
        counted = await run([match, {"$count": "count"}])
        return int(counted[0]["count"]) if counted else 0

    has_more = len(rows) > args.limit
    rows = rows[: args.limit]
    if not args.forward:
        rows.reverse()
    return Page(
        rows=[(ordering.encode(row[ordering.field], row["_id"]), parse(row)) for row in rows],
        has_next_page=has_more if args.forward else args.before is not None,
        has_previous_page=has_more if not args.forward else args.after is not None,
        count=count,
    )

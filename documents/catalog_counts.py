"""Counts of the storefront's product lists, kept by the writes that change them.

`totalCount` of a list over a million products cannot count index keys within milliseconds, so
each list scope keeps its count: the whole catalog, each category and each subcategory, alone and
with each common filter (a brand, in stock, a minimum rating of a whole or half star). A visible
product is counted once under every key of its `CountedPlace`.

Every write that can move a product between places (publish, unpublish, archive, restore, a new
category or brand, stock reaching or leaving zero, a review changing the average, a deletion)
calls `count_product_changes` with the product before and after it, in the write's own
transaction: the counts change exactly when the products do, and two writes of one product
conflict on the product itself, so neither reads a stale "before". Writes that touch no counted
field, or move a product within its place (stock from 5 to 3), write no count.

Lists that no key answers (a price range, a search, two filters together, admins' lists with
unpublished products) are counted by MongoDB over the listing indexes. `recount_catalog` counts
the products again and corrects the kept counts, reporting what it corrected (`python -m server
recount`): after a bulk load that failed part-way, or a change made to the database by hand.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from beanie import Document
from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.cache_invalidations import record_invalidation
from documents.catalog import VISIBLE_PRODUCTS, Product
from documents.transactions import mongo_client

# What decides a product's place; reads that feed `count_product_changes` project these.
COUNTED_FIELDS = ("published", "category_id", "subcategory_id", "brand", "stock", "rating_average")
COUNTED_PROJECTION: dict[str, Any] = dict.fromkeys(COUNTED_FIELDS, 1)
# Minimum ratings counted: every half star (0.5, 1, ..., 5). 2 * r is exact in binary floating
# point, so `floor(2 * average) >= 2 * r` is exactly `average >= r`.
STEPS_PER_STAR = 2
MAX_STEPS = 5 * STEPS_PER_STAR


class CatalogCount(Document):
    """How many visible products a list key counts (`catalog` or `category:<id>`, with `|brand=`,
    `|in_stock` or `|rating>=<steps>`)."""

    id: str  # type: ignore[assignment]  # the key
    total: int = 0

    class Settings:
        name = "catalog_counts"


CATALOG_COUNT_DOCUMENTS: list[type[Document]] = [CatalogCount]


class CountedPlace(NamedTuple):
    """Where a visible product is counted (a tuple: a bulk load makes a million of them)."""

    category_id: ObjectId
    subcategory_id: ObjectId | None
    brand: str
    in_stock: bool
    rating_steps: int  # half stars its average reaches: floor(2 * average)


ProductState = Mapping[str, Any] | Product


def _value(product: ProductState, name: str) -> Any:
    if type(product) is dict:  # the common case, without the cost of an ABC check
        return product.get(name)
    return product.get(name) if isinstance(product, Mapping) else getattr(product, name)


def rating_steps(average: float) -> int:
    return min(MAX_STEPS, max(0, math.floor(average * STEPS_PER_STAR)))


def counted_place(product: ProductState | None) -> CountedPlace | None:
    """The place of a product (a document, or a row with `COUNTED_FIELDS`); None if not visible."""
    if product is None or not _value(product, "published"):
        return None
    return CountedPlace(
        category_id=_value(product, "category_id"),
        subcategory_id=_value(product, "subcategory_id"),
        brand=_value(product, "brand") or "",
        in_stock=(_value(product, "stock") or 0) > 0,
        rating_steps=rating_steps(_value(product, "rating_average") or 0.0),
    )


def scope_key(category_id: ObjectId | None = None) -> str:
    """The key of a whole list: the catalog, or a category or subcategory (ids never collide)."""
    return "catalog" if category_id is None else f"category:{category_id}"


def brand_key(scope: str, brand: str) -> str:
    return f"{scope}|brand={brand}"


def in_stock_key(scope: str) -> str:
    return f"{scope}|in_stock"


def rating_key(scope: str, steps: int) -> str:
    return f"{scope}|rating>={steps}"


def place_keys(place: CountedPlace) -> list[str]:
    """Every key a product in `place` is counted under."""
    scopes = [scope_key(), scope_key(place.category_id)]
    if place.subcategory_id is not None:
        scopes.append(scope_key(place.subcategory_id))
    keys = []
    for scope in scopes:
        keys += [scope, brand_key(scope, place.brand)]
        keys += [in_stock_key(scope)] if place.in_stock else []
        keys += [rating_key(scope, steps) for steps in range(1, place.rating_steps + 1)]
    return keys


@dataclass(frozen=True)
class CountedList:
    """A list count read from keys: `added` minus `subtracted` (out of stock is all minus in)."""

    added: str
    subtracted: str | None = None

    @property
    def keys(self) -> list[str]:
        return [self.added] + ([self.subtracted] if self.subtracted else [])

    def total(self, counts: Mapping[str, int]) -> int:
        subtracted = counts.get(self.subtracted, 0) if self.subtracted else 0
        return counts.get(self.added, 0) - subtracted


def counted_list(
    scope_category_id: ObjectId | None,
    *,
    brand: str | None = None,
    in_stock: bool | None = None,
    min_rating: float | None = None,
) -> CountedList | None:
    """The keys counting the visible products of a scope with at most one common filter; None
    when no key does (two filters together, a minimum rating between half stars)."""
    scope = scope_key(scope_category_id)
    steps = None if min_rating is None else min_rating * STEPS_PER_STAR
    if steps is not None and (steps != int(steps) or not 0 <= steps <= MAX_STEPS):
        return None
    given = [value for value in (brand, in_stock, steps) if value is not None]
    if len(given) > 1:
        return None
    if brand is not None:
        return CountedList(brand_key(scope, brand))
    if in_stock is not None:
        return (
            CountedList(in_stock_key(scope))
            if in_stock
            else CountedList(scope, in_stock_key(scope))
        )
    if steps:
        return CountedList(rating_key(scope, int(steps)))
    return CountedList(scope)


def _key_changes(places: Mapping[CountedPlace, int]) -> Counter[str]:
    changes: Counter[str] = Counter()
    for place, added in places.items():
        if added:
            for key in place_keys(place):
                changes[key] += added
    return changes


async def add_counts(
    places: Mapping[CountedPlace, int], *, session: AsyncClientSession | None = None
) -> None:
    """Add `places[place]` (negative to remove) products to every key of each place."""
    operations = [
        UpdateOne({"_id": key}, {"$inc": {"total": added}}, upsert=True)
        for key, added in sorted(_key_changes(places).items())
        if added
    ]
    if operations:
        await CatalogCount.get_pymongo_collection().bulk_write(
            operations, ordered=False, session=session
        )


async def count_product_changes(
    changes: Iterable[tuple[ProductState | None, ProductState | None]],
    *,
    session: AsyncClientSession | None,
) -> None:
    """Record that each product went from `before` to `after` (None: not there), in the
    transaction of `session` that wrote it. Writes nothing when no product changed place."""
    places: Counter[CountedPlace] = Counter()
    for before, after in changes:
        if (old := counted_place(before)) is not None:
            places[old] -= 1
        if (new := counted_place(after)) is not None:
            places[new] += 1
    await add_counts(places, session=session)


_PLACE_GROUP = {
    "category_id": "$category_id",
    "subcategory_id": {"$ifNull": ["$subcategory_id", None]},
    "brand": {"$ifNull": ["$brand", ""]},
    "in_stock": {"$gt": ["$stock", 0]},
    "rating_steps": {
        "$min": [
            MAX_STEPS,
            {"$max": [0, {"$floor": {"$multiply": ["$rating_average", STEPS_PER_STAR]}}]},
        ]
    },
}


async def places_of(
    condition: Mapping[str, Any], *, session: AsyncClientSession | None = None
) -> Counter[CountedPlace]:
    """How many visible products matching `condition` are in each place, counted by MongoDB."""
    pipeline: list[dict[str, Any]] = [
        {"$match": {"$and": [VISIBLE_PRODUCTS, dict(condition)]}},
        {"$group": {"_id": _PLACE_GROUP, "count": {"$sum": 1}}},
    ]
    cursor = await Product.get_pymongo_collection().aggregate(pipeline, session=session)
    places: Counter[CountedPlace] = Counter()
    async for row in cursor:
        group = row["_id"]
        places[CountedPlace(**{**group, "rating_steps": int(group["rating_steps"])})] += row[
            "count"
        ]
    return places


async def count_moves(
    condition: Mapping[str, Any],
    new_values: Mapping[str, Any],
    *,
    session: AsyncClientSession,
) -> Counter[CountedPlace]:
    """Before an update of every product matching `condition` to `new_values`: the count
    changes it makes (apply them with `add_counts` in the same transaction)."""
    changes: Counter[CountedPlace] = Counter()
    for place, count in (await places_of(condition, session=session)).items():
        changes[place] -= count
        moved = counted_place({**_place_fields(place), **new_values})
        if moved is not None:
            changes[moved] += count
    return changes


def _place_fields(place: CountedPlace) -> dict[str, Any]:
    return {
        "published": True,
        "category_id": place.category_id,
        "subcategory_id": place.subcategory_id,
        "brand": place.brand,
        "stock": 1 if place.in_stock else 0,
        "rating_average": place.rating_steps / STEPS_PER_STAR,
    }


@dataclass(frozen=True)
class Recount:
    """What `recount_catalog` found: how many keys it checked and the ones it corrected, each
    with the count stored and the count of the products."""

    checked: int
    corrected: dict[str, tuple[int, int]]


async def recount_catalog(*, correct: bool = True, invalidate: Iterable[str] = ()) -> Recount:
    """Count the visible products in every place again and compare every kept count with it;
    (`correct`) fix those that differ. When something was corrected, the cache tags
    `invalidate` are recorded for the query cache to retire (documents/cache_invalidations.py):
    it may hold the wrong counts.

    No long transaction (a million products take longer to read than a transaction may last):
    the products and the kept counts are read at one point in time (a snapshot session), and
    each count is corrected by its difference then, with `$inc`. Writes after that point change
    a kept count and the products it counts alike, so the difference still holds when it is
    applied, whatever the writes meanwhile.
    """
    collection = CatalogCount.get_pymongo_collection()
    async with mongo_client().start_session(snapshot=True) as snapshot:
        expected = _key_changes(await places_of({}, session=snapshot))
        stored = {row["_id"]: row["total"] async for row in collection.find({}, session=snapshot)}
    keys = expected.keys() | stored.keys()
    corrected = {
        key: (stored.get(key, 0), expected.get(key, 0))
        for key in sorted(keys)
        if stored.get(key, 0) != expected.get(key, 0)
    }
    if corrected and correct:
        await collection.bulk_write(
            [
                UpdateOne({"_id": key}, {"$inc": {"total": counted - was}}, upsert=True)
                for key, (was, counted) in corrected.items()
            ],
            ordered=False,
        )
        # A missing count is a zero; a write that counts it again inserts it again.
        await collection.delete_many({"total": 0})
        if tags := set(invalidate):
            await record_invalidation(tags)
    return Recount(checked=len(keys), corrected=corrected)


async def build_catalog_counts() -> None:
    """Upgrade: count the products stored before the counts were kept (idempotent)."""
    await recount_catalog()

"""A deterministic demo catalog: seeded category and product generators and a fast bulk loader.

The same seed always yields exactly the same documents (ids, names, prices and timestamps), so
demo data and benchmarks are reproducible. Generated dicts are raw MongoDB documents shaped like
the `Category` and `Product` Beanie documents (`_id` for the id) and are written straight
through the PyMongo collections, bypassing per-document Beanie overhead.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import math
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection

from documents.catalog import Category, Product
from documents.catalog_counts import add_counts, counted_place
from documents.demo_images import DemoImage
from documents.demo_vocabulary import (
    CATALOG,
    LEAD_SENTENCES,
    SECOND_SENTENCES,
    TITLED_LEAD_SENTENCES,
    Sub,
    Top,
)
from documents.money import final_price, minor_unit_exponent
from documents.reviews.ratings import NO_RATINGS, STARS, imported_rating_fields

BASE_DATE = datetime(2026, 1, 1, tzinfo=UTC)
"""Fixed "now" of the demo catalog: every generated timestamp lies before it."""

# Products are created over the two years before BASE_DATE.
_PRODUCT_SPAN_MS = 730 * 24 * 3600 * 1000
_CATEGORIES_CREATED = BASE_DATE - timedelta(days=760)
_DISCOUNTS = (0, 0, 0, 5, 10, 15, 20, 25, 30, 40, 50)
_MAX_PRODUCTS = 1 << 24  # the ObjectId counter is three bytes
_MAX_INSERTS_IN_FLIGHT = 3
# From this many products on, the product indexes are dropped for the load and built afterwards:
# one sorted build per index instead of a random insert into each of ~15 indexes per product,
# which slows to a crawl once the indexes outgrow the WiredTiger cache.
DEFER_INDEXES_FROM = 50_000
# What `listIndexes` reports that `createIndexes` does not take back.
_INDEX_REPORT_ONLY = {"v", "key", "ns"}
# Rough value of one unit of a currency in rupees; the vocabulary's price ranges are in rupees.
# Unknown currencies use the rupee figures as they are.
# fmt: off
_INR_PER_UNIT: dict[str, float] = {
    "INR": 1.0, "USD": 85.0, "EUR": 92.0, "GBP": 108.0, "JPY": 0.57, "AUD": 56.0, "CAD": 61.0,
    "SGD": 64.0, "AED": 23.0, "CHF": 96.0, "CNY": 11.7,
}
# fmt: on
_IMAGE_VIEWS = ("front view", "side view", "close-up", "in use")


@dataclass(frozen=True)
class DemoCatalogSummary:
    """What `load_demo_catalog` wrote and how long it took."""

    categories: int
    subcategories: int
    products: int
    seconds: float


def _slugify(text: str) -> str:
    """Lowercase, hyphen-separated ASCII slug ("Home & Kitchen" -> "home-kitchen")."""
    text = text.lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _object_id(moment: datetime, machine: int, counter: int) -> ObjectId:
    """An ObjectId laid out like a real one: creation second, 5 "machine" bytes, 3-byte counter."""
    raw = (
        int(moment.timestamp()).to_bytes(4, "big")
        + machine.to_bytes(5, "big")
        + (counter & 0xFFFFFF).to_bytes(3, "big")
    )
    return ObjectId(raw)


def _machine_bytes(id_: Any) -> bytes:
    return bytes(ObjectId(id_).binary[4:9])


def generate_categories(seed: int, *, public_url: str) -> list[dict[str, Any]]:
    """The demo category tree as raw MongoDB documents (with `_id`), deterministic in `seed`.

    Each top-level category is followed by its subcategories. Subcategory slugs are prefixed with
    their parent's slug, so slugs are unique across the whole tree. Images are placeholders the
    API at `public_url` serves (`documents.demo_images`).
    """
    rng = random.Random(f"demo-catalog:{seed}:categories")
    machine = rng.getrandbits(40)
    counter = rng.getrandbits(24)
    documents: list[dict[str, Any]] = []
    moment = _CATEGORIES_CREATED

    def add(name: str, slug: str, description: str, parent_id: ObjectId | None) -> ObjectId:
        nonlocal counter, moment
        moment += timedelta(minutes=rng.randint(1, 90), milliseconds=rng.randint(0, 999))
        counter += 1
        category_id = _object_id(moment, machine, counter)
        documents.append(
            {
                "_id": category_id,
                "name": name,
                "slug": slug,
                "description": html.escape(description, quote=False),
                "image": _image(public_url, slug, name, "", 600, 400),
                "parent_id": parent_id,
                "created_at": moment,
                "updated_at": moment,
            }
        )
        return category_id

    for top in CATALOG:
        top_slug = _slugify(top.name)
        top_id = add(top.name, top_slug, top.description, None)
        for sub in top.subs:
            description = (
                f"Browse {sub.name.lower()} from {top.brands[0]}, {top.brands[1]} "
                "and other trusted brands."
            )
            add(sub.name, f"{top_slug}-{_slugify(sub.name)}", description, top_id)
    return documents


@dataclass(frozen=True)
class _SubPick:
    top: Top
    sub: Sub
    category_id: ObjectId
    subcategory_id: ObjectId


def _resolve_categories(categories: list[dict[str, Any]]) -> list[_SubPick]:
    """Pair each known subcategory document with its vocabulary and its parent's id."""
    by_slug = {doc["slug"]: doc for doc in categories}
    picks: list[_SubPick] = []
    for top in CATALOG:
        top_slug = _slugify(top.name)
        top_doc = by_slug.get(top_slug)
        if top_doc is None or top_doc.get("parent_id") is not None:
            continue
        for sub in top.subs:
            sub_doc = by_slug.get(f"{top_slug}-{_slugify(sub.name)}")
            if sub_doc is not None and sub_doc.get("parent_id") == top_doc["_id"]:
                picks.append(_SubPick(top, sub, top_doc["_id"], sub_doc["_id"]))
    if not picks:
        raise ValueError("categories contain none of the demo subcategories")
    return picks


def _charm_price(rng: random.Random, sub: Sub, inr_per_unit: float, exponent: int) -> int:
    """A price in minor units inside the subcategory's range, ending in 9s like shop prices."""
    low, high = math.log(sub.price[0]), math.log(sub.price[1])
    # Log scale, skewed towards the cheaper end of the range as real assortments are.
    amount = math.exp(rng.triangular(low, high, low + 0.3 * (high - low))) / inr_per_unit
    unit = 10**exponent
    if amount >= 1000:
        return (max(round(amount / 100), 1) * 100 - 1) * unit
    if amount >= 100:
        return (round(amount / 50) * 50 - 1) * unit
    if amount >= 10:
        return (round(amount / 10) * 10 - 1) * unit
    if exponent == 0:
        return max(round(amount), 1)
    return int(amount) * unit + unit - 1


def _describe(rng: random.Random, pick: _SubPick, brand: str, short: str) -> str:
    f1, f2, f3 = rng.sample(pick.sub.features, 3)
    leads = TITLED_LEAD_SENTENCES if pick.top.titled else LEAD_SENTENCES
    values = {"short": short, "item": pick.sub.item, "brand": brand, "f1": f1, "f2": f2, "f3": f3}
    sentences = [rng.choice(leads).format(**values)]
    count = rng.choice((1, 2, 2, 3, 3, 3))
    if count >= 2:
        sentences.append(rng.choice(SECOND_SENTENCES).format(**values))
    if count == 3:
        sentences.append(rng.choice(pick.top.closers).format(brand=brand))
    return " ".join(sentences)


def _rating_histogram(rng: random.Random) -> list[int]:
    """How many ratings of 1 to 5 stars: about 5% unrated; the rest skew high like real shops'
    ratings, spread around a mean the way a shop's star bars look."""
    if rng.random() < 0.05:
        return list(NO_RATINGS)
    count = min(int(math.exp(rng.uniform(0.0, math.log(5001.0)))), 5000)
    mean = 1.0 + 4.0 * rng.betavariate(5.0, 1.6)
    weights = [math.exp(-((stars - mean) ** 2) / 1.5) for stars in range(1, STARS + 1)]
    histogram = [int(count * weight / sum(weights)) for weight in weights]
    histogram[round(mean) - 1] += count - sum(histogram)  # what rounding down left over
    return histogram


def generate_products(
    count: int, categories: list[dict[str, Any]], *, seed: int, currency: str, public_url: str
) -> Iterator[dict[str, Any]]:
    """Lazily yield `count` demo products as raw MongoDB documents, deterministic in `seed`.

    `categories` are the documents from `generate_categories`; each product gets a top-level
    `category_id` and a `subcategory_id` under it. Prices are integer minor units of `currency`
    and `final_price` comes from `documents.money.final_price`. Ids and slugs are unique. Images
    are placeholders the API at `public_url` serves (`documents.demo_images`).
    """
    if count < 0 or count > _MAX_PRODUCTS:
        raise ValueError(f"count must be between 0 and {_MAX_PRODUCTS}")
    if re.fullmatch(r"[A-Z]{3}", currency) is None:
        raise ValueError("currency must be a three-letter ISO 4217 code")
    picks = _resolve_categories(categories)
    taken_machines = {_machine_bytes(c["_id"]) for c in categories}
    return _products(count, picks, seed, currency, public_url, taken_machines)


def _image(
    public_url: str, key: str, name: str, view: str, width: int, height: int
) -> dict[str, Any]:
    """A stored image pointing at a placeholder: `name` (and `view`) on a colour from `key`."""
    image = DemoImage.for_key(key, text=name, caption=view, width=width, height=height)
    alt = f"{name}, {view}" if view else name
    url = image.url(public_url)
    return {"url": url, "alt": alt, "width": width, "height": height, "public_id": None}


def _products(
    count: int,
    picks: list[_SubPick],
    seed: int,
    currency: str,
    public_url: str,
    taken_machines: set[bytes],
) -> Iterator[dict[str, Any]]:
    rng = random.Random(f"demo-catalog:{seed}:products")
    machine = rng.getrandbits(40)
    while machine.to_bytes(5, "big") in taken_machines:  # keep ids apart from the categories'
        machine = rng.getrandbits(40)
    counter = rng.getrandbits(24)
    exponent = minor_unit_exponent(currency)
    inr_per_unit = _INR_PER_UNIT.get(currency, 1.0)
    cum_weights = list(itertools.accumulate(p.top.weight for p in picks))
    seen_slugs: set[str] = set()

    for _ in range(count):
        pick = rng.choices(picks, cum_weights=cum_weights)[0]
        top, sub = pick.top, pick.sub
        brand = rng.choice(top.brands)
        short = top.name_format.format(
            brand=brand, model=rng.choice(sub.models), noun=rng.choice(sub.nouns)
        )
        name = short
        if top.titled or rng.random() < 0.7:
            name += top.variant_format.format(variant=rng.choice(sub.variants))

        created_at = BASE_DATE - timedelta(
            milliseconds=int(_PRODUCT_SPAN_MS * rng.random() ** 1.25) + 1
        )
        counter += 1
        product_id = _object_id(created_at, machine, counter)
        slug = _slugify(name)
        if slug in seen_slugs:
            slug = f"{slug}-{str(product_id)[-6:]}"
            if slug in seen_slugs:
                slug = f"{_slugify(name)}-{product_id}"
        seen_slugs.add(slug)

        if rng.random() < 0.3:
            updated_at = created_at
        else:
            remaining_ms = (BASE_DATE - created_at) // timedelta(milliseconds=1)
            updated_at = created_at + timedelta(
                milliseconds=rng.randint(0, min(remaining_ms, 180 * 24 * 3600 * 1000))
            )

        price = _charm_price(rng, sub, inr_per_unit, exponent)
        discount = rng.choice(_DISCOUNTS)
        stock = 0 if rng.random() < 0.08 else min(int(rng.triangular(1, 501, 40)), 500)
        description = _describe(rng, pick, brand, short)
        images = [
            _image(public_url, slug, name, _IMAGE_VIEWS[n], 800, 800)
            for n in range(rng.randint(1, 4))
        ]
        yield {
            "_id": product_id,
            "name": name,
            "slug": slug,
            "description": html.escape(description, quote=False),
            "brand": brand,
            "price": price,
            "currency": currency,
            "discount_percent": discount,
            "final_price": final_price(price, discount),
            "stock": stock,
            "category_id": pick.category_id,
            "subcategory_id": pick.subcategory_id,
            "images": images,
            # Seeded ratings no review accounts for: marked as imported.
            **imported_rating_fields(_rating_histogram(rng)),
            "published": rng.random() >= 0.03,
            "archived_at": None,
            "created_at": created_at,
            "updated_at": updated_at,
        }


def _take(documents: Iterator[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    return list(itertools.islice(documents, size))


async def _insert(
    collection: AsyncCollection[dict[str, Any]],
    batch: list[dict[str, Any]],
    in_flight: asyncio.Semaphore,
    inserted: list[int],
) -> None:
    try:
        result = await collection.insert_many(batch, ordered=False)
        inserted.append(len(result.inserted_ids))
        # The list counts of the stored batch (not in a transaction: a load that fails part-way
        # is repaired by `python -m server recount`).
        places = Counter(place for product in batch if (place := counted_place(product)))
        await add_counts(places)
    finally:
        in_flight.release()


def _index_model(spec: Mapping[str, Any]) -> IndexModel:
    """The `IndexModel` that creates the index `listIndexes` described as `spec`."""
    key = list(spec["key"].items())
    if "_fts" in spec["key"]:
        # A text index is reported by its internal keys; it is created from its fields.
        fields = [(name, "text") for name in spec["weights"]]
        at = next(i for i, (name, _) in enumerate(key) if name == "_fts")
        key = key[:at] + fields + [(n, d) for n, d in key[at:] if n not in ("_fts", "_ftsx")]
    options = {name: value for name, value in spec.items() if name not in _INDEX_REPORT_ONLY}
    return IndexModel(key, **options)


@contextlib.asynccontextmanager
async def _indexes_built_afterwards(
    collection: AsyncCollection[dict[str, Any]],
) -> AsyncIterator[None]:
    """Drop the collection's secondary indexes, and build them again when the block ends (also
    when it fails, so the collection is never left without them)."""
    specs = [spec async for spec in await collection.list_indexes() if spec["name"] != "_id_"]
    for spec in specs:
        await collection.drop_index(spec["name"])
    try:
        yield
    finally:
        if specs:
            await collection.create_indexes([_index_model(spec) for spec in specs])


@contextlib.asynccontextmanager
async def _as_they_are(collection: AsyncCollection[dict[str, Any]]) -> AsyncIterator[None]:
    yield


async def load_demo_catalog(
    products: int,
    *,
    public_url: str,
    seed: int = 2024,
    currency: str = "INR",
    batch_size: int = 5000,
) -> DemoCatalogSummary:
    """Insert the demo categories and `products` demo products; return what was written.

    Image URLs point at the API at `public_url`, which serves the placeholders.

    Assumes `init_beanie` has run for `Category` and `Product` and that both collections are
    empty (nothing is dropped; duplicate slugs would fail). Products are generated lazily in a
    worker thread while up to three `insert_many(ordered=False)` batches are in flight, so
    memory stays flat and generation overlaps with the server's writes. Each batch adds its
    products to the list counts (documents/catalog_counts.py). From `DEFER_INDEXES_FROM`
    products on, the product indexes are built after the load.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    categories = generate_categories(seed, public_url=public_url)
    documents = generate_products(
        products, categories, seed=seed, currency=currency, public_url=public_url
    )
    await Category.get_pymongo_collection().insert_many(categories, ordered=False)

    collection: AsyncCollection[dict[str, Any]] = Product.get_pymongo_collection()
    in_flight = asyncio.Semaphore(_MAX_INSERTS_IN_FLIGHT)
    inserted: list[int] = []
    deferred = _indexes_built_afterwards if products >= DEFER_INDEXES_FROM else _as_they_are
    async with deferred(collection), asyncio.TaskGroup() as group:
        while batch := await asyncio.to_thread(_take, documents, batch_size):
            await in_flight.acquire()
            group.create_task(_insert(collection, batch, in_flight, inserted))

    top_level = sum(1 for c in categories if c["parent_id"] is None)
    return DemoCatalogSummary(
        categories=top_level,
        subcategories=len(categories) - top_level,
        products=sum(inserted),
        seconds=time.perf_counter() - started,
    )

"""Tests of the demo catalog generator: determinism, shape, uniqueness and model validity."""

from __future__ import annotations

import itertools
import re
from datetime import UTC
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from documents import demo_catalog
from documents.catalog import Category, Product
from documents.catalog_rules import sanitize_description
from documents.demo_catalog import BASE_DATE, generate_categories, generate_products
from documents.demo_images import DEMO_IMAGE_PATH
from documents.money import MAX_DISCOUNT_PERCENT, final_price
from settings import Settings

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
COLOR = re.compile(r"^[0-9a-f]{6}$")
# Images point at the API's public URL, whatever it is.
PUBLIC_URL = "http://shop.test:8123"


def products(count: int, *, seed: int = 2024, currency: str = "INR") -> list[dict[str, Any]]:
    categories = generate_categories(seed, public_url=PUBLIC_URL)
    return list(
        generate_products(count, categories, seed=seed, currency=currency, public_url=PUBLIC_URL)
    )


def image_query(url: str) -> dict[str, str]:
    """The query of a demo image URL on the API at PUBLIC_URL, one value per parameter."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{PUBLIC_URL}{DEMO_IMAGE_PATH}"
    query = parse_qs(parts.query, strict_parsing=True)
    assert all(len(values) == 1 for values in query.values())
    return {name: values[0] for name, values in query.items()}


@pytest.fixture(scope="module")
def many_products() -> list[dict[str, Any]]:
    return products(20_000)


def test_same_seed_gives_identical_catalog() -> None:
    assert generate_categories(7, public_url=PUBLIC_URL) == generate_categories(
        7, public_url=PUBLIC_URL
    )
    assert products(500, seed=7) == products(500, seed=7)


def test_different_seed_gives_different_catalog() -> None:
    assert [c["_id"] for c in generate_categories(1, public_url=PUBLIC_URL)] != [
        c["_id"] for c in generate_categories(2, public_url=PUBLIC_URL)
    ]
    first, second = products(200, seed=1), products(200, seed=2)
    assert [p["_id"] for p in first] != [p["_id"] for p in second]
    assert [p["name"] for p in first] != [p["name"] for p in second]


def test_generation_is_lazy() -> None:
    categories = generate_categories(3, public_url=PUBLIC_URL)
    iterator = generate_products(
        10_000_000, categories, seed=3, currency="INR", public_url=PUBLIC_URL
    )
    assert len(list(itertools.islice(iterator, 5))) == 5


def test_category_tree_shape() -> None:
    categories = generate_categories(2024, public_url=PUBLIC_URL)
    tops = [c for c in categories if c["parent_id"] is None]
    assert len(tops) >= 12
    top_ids = {c["_id"] for c in tops}
    for top in tops:
        subs = [c for c in categories if c["parent_id"] == top["_id"]]
        assert 3 <= len(subs) <= 6, top["name"]
    assert all(c["parent_id"] in top_ids for c in categories if c["parent_id"] is not None)
    slugs = [c["slug"] for c in categories]
    assert len(set(slugs)) == len(slugs)
    assert all(SLUG.match(s) for s in slugs)
    assert len({c["_id"] for c in categories}) == len(categories)
    assert {"electronics", "fashion", "home-kitchen", "books"} <= set(slugs)
    for category in categories:
        assert category["description"].endswith(".")
        image = category["image"]
        assert image == {
            "url": image["url"],
            "alt": category["name"],
            "width": 600,
            "height": 400,
            "public_id": None,
        }
        query = image_query(image["url"])
        assert query == {"w": "600", "h": "400", "color": query["color"], "text": category["name"]}
        assert COLOR.match(query["color"])


def test_products_belong_to_their_category(many_products: list[dict[str, Any]]) -> None:
    parent_of = {c["_id"]: c["parent_id"] for c in generate_categories(2024, public_url=PUBLIC_URL)}
    for product in many_products:
        assert parent_of[product["category_id"]] is None
        assert parent_of[product["subcategory_id"]] == product["category_id"]


def test_unique_slugs_and_ids(many_products: list[dict[str, Any]]) -> None:
    slugs = [p["slug"] for p in many_products]
    ids = [p["_id"] for p in many_products] + [
        c["_id"] for c in generate_categories(2024, public_url=PUBLIC_URL)
    ]
    assert len(set(slugs)) == len(slugs) == 20_000
    assert len(set(ids)) == len(ids)
    assert all(isinstance(i, ObjectId) for i in ids)
    assert all(SLUG.match(s) and len(s) <= 220 for s in slugs)


def test_prices_and_final_price(many_products: list[dict[str, Any]]) -> None:
    for product in many_products:
        price, discount = product["price"], product["discount_percent"]
        assert isinstance(price, int)
        assert price > 0
        assert 0 <= discount <= MAX_DISCOUNT_PERCENT
        assert product["final_price"] == final_price(price, discount)
        assert product["currency"] == "INR"
    prices = sorted(p["price"] for p in many_products)
    assert prices[0] < 100_000 < prices[-1]  # a real mix: under 1,000 and over 1,000 rupees
    assert all(p["price"] % 100 == 0 and p["price"] // 100 % 10 == 9 for p in many_products)


def test_field_distributions(many_products: list[dict[str, Any]]) -> None:
    count = len(many_products)
    assert 0.05 < sum(p["stock"] == 0 for p in many_products) / count < 0.11
    assert all(0 <= p["stock"] <= 500 for p in many_products)
    unrated = [p for p in many_products if p["rating_count"] == 0]
    assert 0.03 < len(unrated) / count < 0.07
    assert all(p["rating_average"] == 0.0 for p in unrated)
    rated = [p for p in many_products if p["rating_count"] > 0]
    assert all(1.0 <= p["rating_average"] <= 5.0 for p in rated)
    # Every seeded rating is marked imported, and the aggregates are those of the histogram.
    for product in many_products:
        assert product["imported_rating_histogram"] == product["rating_histogram"]
        assert sum(product["rating_histogram"]) == product["rating_count"]
        stars = sum((i + 1) * n for i, n in enumerate(product["rating_histogram"]))
        assert stars == product["rating_sum"]
        if product["rating_count"]:
            assert product["rating_average"] == stars / product["rating_count"]
    assert sum(p["rating_average"] for p in rated) / len(rated) > 3.5
    assert all(p["rating_count"] <= 5000 for p in many_products)
    assert 0.01 < sum(not p["published"] for p in many_products) / count < 0.05
    assert len({p["brand"] for p in many_products}) >= 50
    assert len({p["discount_percent"] for p in many_products}) > 5


def test_text_images_and_dates(many_products: list[dict[str, Any]]) -> None:
    for product in many_products[:2000]:
        assert 2 <= len(product["name"]) <= 200
        sentences = product["description"].count(". ") + 1
        assert 1 <= sentences <= 3
        assert product["description"].endswith(".")
        images = product["images"]
        assert 1 <= len(images) <= 4
        colors = set()
        views = ("front view", "side view", "close-up", "in use")[: len(images)]
        for image, view in zip(images, views, strict=True):
            assert image["alt"] == f"{product['name']}, {view}"
            assert image["width"] == image["height"] == 800
            assert image["public_id"] is None
            query = image_query(image["url"])
            assert query == {
                "w": "800",
                "h": "800",
                "color": query["color"],
                "text": product["name"],
                "caption": view,
            }
            colors.add(query["color"])
        assert len(colors) == 1  # one product, one colour
        created, updated = product["created_at"], product["updated_at"]
        assert created.tzinfo is UTC
        assert updated.tzinfo is UTC
        assert created.microsecond % 1000 == 0
        assert updated.microsecond % 1000 == 0
        assert BASE_DATE.replace(year=2023, month=12) < created <= updated <= BASE_DATE


def test_other_currencies() -> None:
    jpy = products(300, currency="JPY")
    assert all(p["currency"] == "JPY" and p["price"] > 0 for p in jpy)
    assert all(p["final_price"] == final_price(p["price"], p["discount_percent"]) for p in jpy)
    with pytest.raises(ValueError, match="currency"):
        products(1, currency="rupees")


@pytest.mark.usefixtures("app")  # the app binds the documents to the test database
async def test_documents_validate_as_beanie_models(many_products: list[dict[str, Any]]) -> None:
    for raw in generate_categories(2024, public_url=PUBLIC_URL):
        category = Category.model_validate(raw)
        assert category.id == raw["_id"]
        assert category.parent_id == raw["parent_id"]
        assert category.model_dump(by_alias=True, exclude={"revision_id"}) == raw
    for raw in many_products[::97]:
        product = Product.model_validate(raw)
        assert product.id == raw["_id"]
        assert product.final_price == raw["final_price"]
        assert product.model_dump(by_alias=True, exclude={"revision_id"}) == raw


def test_descriptions_are_stored_as_the_api_would_store_them(
    many_products: list[dict[str, Any]],
) -> None:
    # The API keeps descriptions as sanitized rich text; demo data must round-trip through it.
    for raw in [*generate_categories(2024, public_url=PUBLIC_URL), *many_products[::50]]:
        assert sanitize_description(raw["description"]) == raw["description"]


def test_image_urls_follow_the_public_url_and_nothing_else_changes() -> None:
    elsewhere = "http://localhost:9000"
    here = products(50, seed=5)
    moved = list(
        generate_products(
            50,
            generate_categories(5, public_url=elsewhere),
            seed=5,
            currency="INR",
            public_url=elsewhere,
        )
    )

    for product, same in zip(here, moved, strict=True):
        urls = [image["url"] for image in product["images"]]
        assert [image["url"] for image in same["images"]] == [
            url.replace(PUBLIC_URL, elsewhere, 1) for url in urls
        ]
        assert all(url.startswith(f"{PUBLIC_URL}{DEMO_IMAGE_PATH}?") for url in urls)
        assert {**same, "images": product["images"]} == product


def index_specs(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((dict(spec) for spec in specs), key=lambda spec: str(spec["name"]))


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("deferred", [False, True], ids=["indexes kept", "indexes built after"])
async def test_a_big_load_builds_the_same_indexes_after_the_products(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, deferred: bool
) -> None:
    collection = Product.get_pymongo_collection()
    before = index_specs(await (await collection.list_indexes()).to_list())
    assert any("_fts" in spec["key"] for spec in before)  # the text index is among them
    monkeypatch.setattr(demo_catalog, "DEFER_INDEXES_FROM", 50 if deferred else 10**9)

    summary = await demo_catalog.load_demo_catalog(60, public_url=settings.public_url, seed=5)

    assert summary.products == await collection.count_documents({}) == 60
    assert index_specs(await (await collection.list_indexes()).to_list()) == before
    # The unique slug index holds again after the build.
    duplicate = await collection.find_one({}, {"_id": 0})
    assert duplicate is not None
    with pytest.raises(DuplicateKeyError):
        await collection.insert_one(duplicate)


@pytest.mark.usefixtures("app")
async def test_a_failed_big_load_leaves_the_indexes_in_place(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    collection = Product.get_pymongo_collection()
    before = index_specs(await (await collection.list_indexes()).to_list())
    monkeypatch.setattr(demo_catalog, "DEFER_INDEXES_FROM", 50)

    generate = demo_catalog.generate_products

    def broken(*args: Any, **kwargs: Any) -> Any:
        yield from generate(*args, **kwargs)
        raise RuntimeError("generator broke")

    monkeypatch.setattr(demo_catalog, "generate_products", broken)
    with pytest.raises(ExceptionGroup) as raised:
        await demo_catalog.load_demo_catalog(60, public_url=settings.public_url, seed=5)
    assert raised.value.subgroup(lambda error: str(error) == "generator broke") is not None

    assert index_specs(await (await collection.list_indexes()).to_list()) == before

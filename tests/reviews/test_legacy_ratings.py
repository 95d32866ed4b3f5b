"""Products stored before ratings were a histogram get an imported one that keeps their count and
average, once, at startup."""

from __future__ import annotations

from typing import Any

import pytest

from documents.catalog import Product
from documents.registry import AppliedUpgrade, upgrade_documents
from documents.reviews.legacy import upgrade_legacy_ratings
from tests.factories import make_category, make_product

pytestmark = pytest.mark.usefixtures("app")


async def legacy_product(average: float, count: int) -> Product:
    """A product as an earlier version stored it: an average and a count, no histogram."""
    product = await make_product(await make_category())
    await Product.get_pymongo_collection().update_one(
        {"_id": product.id},
        {
            "$set": {"rating_average": average, "rating_count": count},
            "$unset": {
                "rating_histogram": "",
                "rating_sum": "",
                "imported_rating_histogram": "",
            },
        },
    )
    return product


async def stored(product: Product) -> dict[str, Any]:
    raw = await Product.get_pymongo_collection().find_one({"_id": product.id})
    assert raw is not None
    return raw


@pytest.mark.parametrize(
    ("average", "count", "histogram"),
    [
        (4.3, 1200, [0, 0, 0, 840, 360]),  # 5,160 stars: 4.3 exactly
        (4.0, 3, [0, 0, 0, 3, 0]),
        (5.0, 7, [0, 0, 0, 0, 7]),
        (2.5, 2, [0, 1, 1, 0, 0]),
        (4.99, 1, [0, 0, 0, 0, 1]),  # one rating: the average rounds to whole stars
        (0.5, 3, [3, 0, 0, 0, 0]),  # below one star is no rating: the least there is
        (0.0, 0, [0, 0, 0, 0, 0]),
    ],
)
async def test_a_legacy_count_and_average_become_an_imported_histogram(
    average: float, count: int, histogram: list[int]
) -> None:
    product = await legacy_product(average, count)

    assert await upgrade_legacy_ratings() == 1

    raw = await stored(product)
    assert raw["rating_histogram"] == histogram
    assert raw["imported_rating_histogram"] == histogram
    stars = sum((i + 1) * n for i, n in enumerate(histogram))
    assert (raw["rating_count"], raw["rating_sum"]) == (count, stars)
    assert raw["rating_average"] == (stars / count if count else 0.0)
    assert all(isinstance(n, int) for n in raw["rating_histogram"])  # whole numbers, not floats
    assert Product.model_validate(raw).rating_count == count


async def test_the_upgrade_leaves_products_with_a_histogram_alone_and_runs_once() -> None:
    current = await make_product(await make_category(), ratings=[1, 0, 0, 2, 3])
    before = await stored(current)
    legacy = await legacy_product(4.5, 2)
    await AppliedUpgrade.get_pymongo_collection().delete_many({})

    await upgrade_documents()
    await legacy_product(3.0, 1)  # stored after the upgrade ran: not looked for again
    await upgrade_documents()

    assert await stored(current) == before
    assert (await stored(legacy))["rating_histogram"] == [0, 0, 0, 1, 1]
    assert await upgrade_legacy_ratings() == 1  # what only a second run would have found
    # Each upgrade recorded once (the others: unpublishing archived products, counting lists).
    assert [upgrade.id for upgrade in await AppliedUpgrade.find_all().to_list()] == [
        "rating_histograms",
        "archived_products_unpublished",
        "catalog_counts",
    ]

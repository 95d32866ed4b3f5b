"""Products stored before ratings became a histogram: their `rating_average` and `rating_count`
become an imported histogram, once, when the service starts.

The histogram cannot be recovered, so the one chosen keeps the count and the sum of stars (the
average rounded to a whole sum): `r` ratings of `base + 1` stars and the rest of `base`.
"""

from __future__ import annotations

from typing import Any

from documents.catalog import Product
from documents.reviews.ratings import STARS, rating_change_pipeline

_LEGACY = {"rating_histogram": {"$exists": False}}


def _clamped(value: Any, low: Any, high: Any) -> dict[str, Any]:
    return {"$max": [low, {"$min": [high, value]}]}


def _legacy_histogram_pipeline() -> list[dict[str, Any]]:
    count = {"$toLong": {"$max": [0, {"$ifNull": ["$rating_count", 0]}]}}
    average = {"$ifNull": ["$rating_average", 0]}
    stars_sum = {"$toLong": {"$round": [{"$multiply": [average, "$_count"]}, 0]}}
    base = {"$toLong": {"$floor": {"$divide": ["$_sum", "$_count"]}}}
    star = {"$add": ["$$i", 1]}
    bucket = {
        "$switch": {
            "branches": [
                {"case": {"$eq": ["$_count", 0]}, "then": 0},
                {"case": {"$eq": [star, "$_base"]}, "then": {"$subtract": ["$_count", "$_over"]}},
                {"case": {"$eq": [star, {"$add": ["$_base", 1]}]}, "then": "$_over"},
            ],
            "default": 0,
        }
    }
    histogram = {"$map": {"input": {"$range": [0, STARS]}, "as": "i", "in": {"$toLong": bucket}}}
    return [
        {"$set": {"_count": count}},
        {"$set": {"_sum": _clamped(stars_sum, "$_count", {"$multiply": ["$_count", STARS]})}},
        {"$set": {"_base": {"$cond": [{"$gt": ["$_count", 0]}, base, 0]}}},
        {"$set": {"_over": {"$subtract": ["$_sum", {"$multiply": ["$_base", "$_count"]}]}}},
        {"$set": {"rating_histogram": histogram}},
        {"$set": {"imported_rating_histogram": "$rating_histogram"}},
        {"$unset": ["_count", "_sum", "_base", "_over"]},
        *rating_change_pipeline([0] * STARS),
    ]


async def upgrade_legacy_ratings() -> int:
    """Give every product stored without a histogram the imported one its count and average
    imply; returns how many were upgraded (0 once all are)."""
    result = await Product.get_pymongo_collection().update_many(
        _LEGACY, _legacy_histogram_pipeline()
    )
    return result.modified_count

"""A product's rating aggregates: one histogram of stars, and what is derived from it.

The histogram (`rating_histogram[i]` = how many ratings of `i + 1` stars) is the only counter; the
count, the integer sum of stars and the average are derived from it, by `rating_fields` in Python
and by `rating_change_pipeline` inside MongoDB's update, with the same arithmetic, so they never
drift apart. The average is stored unrounded (it is what the `RATING` sort and `minRating` read)
and rounded only for display.

A product's totals are the ratings of its visible reviews plus `imported_rating_histogram`, the
ratings it came with from elsewhere (the demo catalog, a migration), which no review accounts for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STARS = 5
NO_RATINGS: list[int] = [0] * STARS


def rating_fields(histogram: Sequence[int]) -> dict[str, Any]:
    """The stored rating fields of a product whose ratings are `histogram`."""
    if len(histogram) != STARS or any(count < 0 for count in histogram):
        raise ValueError(f"a rating histogram has {STARS} counts, none negative")
    count = sum(histogram)
    total = sum((stars + 1) * n for stars, n in enumerate(histogram))
    return {
        "rating_histogram": list(histogram),
        "rating_count": count,
        "rating_sum": total,
        "rating_average": total / count if count else 0.0,
    }


def imported_rating_fields(histogram: Sequence[int]) -> dict[str, Any]:
    """The rating fields of a product that arrives with ratings no review here accounts for."""
    return {**rating_fields(histogram), "imported_rating_histogram": list(histogram)}


def one_rating(stars: int | None) -> list[int]:
    """The histogram of a single rating; all zeros for None (a review that does not count)."""
    histogram = list(NO_RATINGS)
    if stars is not None:
        histogram[stars - 1] = 1
    return histogram


def histogram_change(before: int | None, after: int | None) -> list[int]:
    """What to add to a histogram when a counted rating goes from `before` to `after` (None: the
    review does not count, being absent or hidden)."""
    return [new - old for new, old in zip(one_rating(after), one_rating(before), strict=True)]


def _each_star(expression: dict[str, Any]) -> dict[str, Any]:
    return {"$map": {"input": {"$range": [0, STARS]}, "as": "i", "in": expression}}


def rating_change_pipeline(change: Sequence[int]) -> list[dict[str, Any]]:
    """An update pipeline adding `change` to a product's histogram and deriving the rest from it,
    in one atomic write (the arithmetic of `rating_fields`)."""
    current = {"$ifNull": ["$rating_histogram", {"$literal": NO_RATINGS}]}
    added = {
        "$add": [
            {"$arrayElemAt": [current, "$$i"]},
            {"$arrayElemAt": [{"$literal": list(change)}, "$$i"]},
        ]
    }
    stars_times_count = {
        "$multiply": [{"$add": ["$$i", 1]}, {"$arrayElemAt": ["$rating_histogram", "$$i"]}]
    }
    average = {"$divide": ["$rating_sum", "$rating_count"]}
    return [
        {"$set": {"rating_histogram": _each_star(added)}},
        {
            "$set": {
                "rating_count": {"$sum": "$rating_histogram"},
                "rating_sum": {"$sum": _each_star(stars_times_count)},
            }
        },
        {"$set": {"rating_average": {"$cond": [{"$gt": ["$rating_count", 0]}, average, 0.0]}}},
    ]


def display_average(average: float) -> float:
    """The average as shown: two decimals."""
    return round(average, 2)

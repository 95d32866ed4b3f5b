"""What a product list's `totalCount` costs on a big catalog (README, "Counting at a million
products"): the kept count the API reads (documents/catalog_counts.py: one aggregation matching
one or two counts by `_id`) against counting the products (`$match` then `$count` over the
listing indexes, what the API sent before and still sends for lists no kept count answers),
one after the other, for the whole list, a category, a subcategory and the common filters. Both must
give the same number: the script says so when they do not (run `python -m server recount`).

    .venv/bin/python bench/list_counts.py --uri mongodb://127.0.0.1:27027/?replicaSet=rs0

Run it against a seeded database (`make seed PRODUCTS=1000000`, then `make run` or the embedded
mongod alone). This is a benchmark, not a test: it prints a Markdown table and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymongo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from documents.catalog import VISIBLE_PRODUCTS
from documents.catalog_counts import CountedList, counted_list


def stages(explain: dict[str, Any]) -> str:
    """The winning plan's stages, outermost first."""
    planner = explain.get("queryPlanner") or explain["stages"][0]["$cursor"]["queryPlanner"]
    node, names = planner["winningPlan"], []
    while node:
        names.append(node["stage"])
        node = node.get("inputStage") or (node.get("inputStages") or [None])[0]
    return " > ".join(names)


def median_ms(run: Callable[[], int], rounds: int) -> tuple[float, int]:
    """Median milliseconds of `run` and what it returned."""
    seconds, result = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, result


def products_count(
    database: Any, conditions: list[dict[str, Any]]
) -> tuple[Callable[[], int], str]:
    """The count over the products, and its winning plan."""
    pipeline = [{"$match": {"$and": [VISIBLE_PRODUCTS, *conditions]}}, {"$count": "count"}]

    def run() -> int:
        result = list(database.products.aggregate(pipeline))
        return int(result[0]["count"]) if result else 0

    explain = database.command(
        "explain",
        {"aggregate": "products", "pipeline": pipeline, "cursor": {}},
        verbosity="queryPlanner",
    )
    return run, stages(explain)


def kept_count(database: Any, counted: CountedList) -> Callable[[], int]:
    """The kept count, read as the API reads it."""
    pipeline = [{"$match": {"_id": {"$in": counted.keys}}}]

    def run() -> int:
        rows = database.catalog_counts.aggregate(pipeline)
        return counted.total({row["_id"]: row["total"] for row in rows})

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--database", default="commerce")
    parser.add_argument("--rounds", type=int, default=3, help="of each count over products")
    parser.add_argument("--kept-rounds", type=int, default=20, help="of each kept count")
    args = parser.parse_args()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(args.uri)
    database = client[args.database]
    category = database.categories.find_one({"parent_id": None})
    assert category is not None, "no categories: seed the database first"
    subcategory = database.categories.find_one({"parent_id": category["_id"]})
    assert subcategory is not None
    brand = database.products.find_one({"category_id": category["_id"]})["brand"]  # type: ignore[index]
    whole, in_category = None, category["_id"]
    # (name, conditions over products, the kept count answering it or None)
    cases: list[tuple[str, list[dict[str, Any]], CountedList | None]] = [
        ("whole list", [], counted_list(whole)),
        ("a category", [{"category_id": in_category}], counted_list(in_category)),
        (
            "a subcategory",
            [{"subcategory_id": subcategory["_id"]}],
            counted_list(subcategory["_id"]),
        ),
        ("whole list, a brand", [{"brand": brand}], counted_list(whole, brand=brand)),
        ("whole list, in stock", [{"stock": {"$gt": 0}}], counted_list(whole, in_stock=True)),
        ("whole list, out of stock", [{"stock": 0}], counted_list(whole, in_stock=False)),
        (
            "whole list, rating >= 4",
            [{"rating_average": {"$gte": 4}}],
            counted_list(whole, min_rating=4),
        ),
        (
            "a category, a brand",
            [{"category_id": in_category}, {"brand": brand}],
            counted_list(in_category, brand=brand),
        ),
        (
            "a category, in stock",
            [{"category_id": in_category}, {"stock": {"$gt": 0}}],
            counted_list(in_category, in_stock=True),
        ),
        (
            "a category, rating >= 4.5",
            [{"category_id": in_category}, {"rating_average": {"$gte": 4.5}}],
            counted_list(in_category, min_rating=4.5),
        ),
        (
            "a category, price 100-500 (no kept count)",
            [{"category_id": in_category}, {"final_price": {"$gte": 10_000, "$lte": 50_000}}],
            None,
        ),
        (
            "a category, a brand, in stock (no kept count)",
            [{"category_id": in_category}, {"brand": brand}, {"stock": {"$gt": 0}}],
            None,
        ),
    ]
    products = database.products.estimated_document_count()
    print(
        f"{products:,} products, load average {os.getloadavg()[0]:.2f}, medians of "
        f"{args.rounds} (over products) and {args.kept_rounds} (kept counts)"
    )
    print()
    print(
        "| count of | counted over products (ms) | kept count (ms) | count | plan over products |"
    )
    print("|---|---:|---:|---:|---|")
    for name, conditions, counted in cases:
        run, plan = products_count(database, conditions)
        over_products, count = median_ms(run, args.rounds)
        kept_ms = "-"
        if counted is not None:
            kept_time, kept = median_ms(kept_count(database, counted), args.kept_rounds)
            kept_ms = f"{kept_time:,.2f}" + ("" if kept == count else f" (kept {kept:,}: WRONG)")
        print(f"| {name} | {over_products:,.1f} | {kept_ms} | {count:,} | {plan} |")
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

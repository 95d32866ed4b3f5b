"""What a product list's `totalCount` costs on a big catalog (README, "Indexes"): the count the API
sends (`$match` then `$count`) with today's visibility filter (`published: true`, a key of every
listing index) against the one before (`published: true, archived_at: null`), interleaved, for
the whole list, a category, a subcategory and the common filters.

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
from typing import Any

import pymongo

BEFORE = {"published": True, "archived_at": None}
NOW = {"published": True}


def stages(explain: dict[str, Any]) -> str:
    """The winning plan's stages, outermost first."""
    planner = explain.get("queryPlanner") or explain["stages"][0]["$cursor"]["queryPlanner"]
    node, names = planner["winningPlan"], []
    while node:
        names.append(node["stage"])
        node = node.get("inputStage") or (node.get("inputStages") or [None])[0]
    return " > ".join(names)


def timed_count(
    database: Any, conditions: list[dict[str, Any]], rounds: int
) -> tuple[float, int, str]:
    """Median milliseconds of the count, the count, and its plan."""
    pipeline = [{"$match": {"$and": conditions}}, {"$count": "count"}]
    seconds, count = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        result = list(database.products.aggregate(pipeline))
        seconds.append(time.perf_counter() - started)
        count = result[0]["count"] if result else 0
    explain = database.command(
        "explain",
        {"aggregate": "products", "pipeline": pipeline, "cursor": {}},
        verbosity="queryPlanner",
    )
    return statistics.median(seconds) * 1000, count, stages(explain)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--database", default="commerce")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(args.uri)
    database = client[args.database]
    category = database.categories.find_one({"parent_id": None})
    assert category is not None, "no categories: seed the database first"
    subcategory = database.categories.find_one({"parent_id": category["_id"]})
    assert subcategory is not None
    brand = database.products.find_one({"category_id": category["_id"]})["brand"]  # type: ignore[index]
    cases: dict[str, list[dict[str, Any]]] = {
        "whole list": [],
        "a category": [{"category_id": category["_id"]}],
        "a subcategory": [{"subcategory_id": subcategory["_id"]}],
        "a category, in stock": [{"category_id": category["_id"]}, {"stock": {"$gt": 0}}],
        "a category, price 100-500": [
            {"category_id": category["_id"]},
            {"final_price": {"$gte": 10_000, "$lte": 50_000}},
        ],
        "a category, a brand": [{"category_id": category["_id"]}, {"brand": brand}],
        "whole list, rating >= 4": [{"rating_average": {"$gte": 4}}],
    }
    products = database.products.estimated_document_count()
    print(f"{products:,} products, load average {os.getloadavg()[0]:.2f}, median of {args.rounds}")
    print()
    print("| count of | before (ms) | now (ms) | ratio | now: count, plan |")
    print("|---|---:|---:|---:|---|")
    for name, conditions in cases.items():
        before, before_count, _ = timed_count(database, [BEFORE, *conditions], args.rounds)
        now, count, plan = timed_count(database, [NOW, *conditions], args.rounds)
        same = "" if count == before_count else f" (before: {before_count:,})"
        print(
            f"| {name} | {before:,.1f} | {now:,.1f} | {before / now:,.0f}x "
            f"| {count:,}{same}, {plan} |"
        )
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

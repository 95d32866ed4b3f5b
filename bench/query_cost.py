"""How long pricing a document takes (README, "Query cost"), ordinary and hostile, beside how
long graphql-core's validation of the same document takes. No servers: the schema only.

    .venv/bin/python bench/query_cost.py

This is a benchmark, not a test: it prints a Markdown table and asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from graphql import get_introspection_query, parse, validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schema.cost.calculator import QueryCost
from schema.cost.rules import field_costs
from schema.root import build_schema
from settings import Settings

ROUNDS = 50

FAN_OUT = (
    "{ categories(first: 100) { edges { node { ...L0 } } } }\n"
    + "\n".join(
        f"fragment L{n} on Category {{ subcategories {{ ...L{n + 1} }} parent {{ ...L{n + 1} }} "
        f"products(first: 100) {{ edges {{ node {{ category {{ ...L{n + 1} }} }} }} }} }}"
        for n in range(7)
    )
    + "\nfragment L7 on Category { name }"
)

DOCUMENTS = {
    "product page (README)": "{ products(first: 20) { edges { node { name finalPrice { amount }"
    " images { url } category { name } } } } }",
    "issue 11's nested pages": '{ products(first:100, filter:{priceMin:"0.00"}){ edges { node {'
    " category { products(first:100){ edges { node { category { products(first:100){ edges {"
    " node { name } } } } } } } } } } } }",
    "fragment fan-out, 8 levels": FAN_OUT,
    "30 aliased pages": "{ "
    + " ".join(f"a{n}: products(first: 100) {{ edges {{ node {{ name }} }} }}" for n in range(30))
    + " }",
    "nodes(ids: 100) on 4 types": "{ nodes(ids: ["
    + ", ".join(f'"{n}"' for n in range(100))
    + "]) { ... on Product { name category { name } } ... on Category { parent { name } }"
    " ... on Order { number } ... on Review { product { name } } } }",
    "one page selected 200 times": "{ "
    + " ".join(f"products(first: 100) {{ edges {{ node {{ n{n}: name }} }} }}" for n in range(200))
    + " }",
    "GraphiQL's introspection": get_introspection_query(descriptions=True),
}


def median_ms(action: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    schema = build_schema()._schema
    rules = field_costs(Settings(_env_file=None))  # type: ignore[call-arg]
    print("| document | cost | pricing, ms | validation, ms |")
    print("|---|---:|---:|---:|")
    for name, query in DOCUMENTS.items():
        document = parse(query)
        cost = QueryCost(schema, document, None, None, rules).requested()
        pricing = median_ms(lambda d=document: QueryCost(schema, d, None, None, rules).requested())
        validation = median_ms(lambda d=document: validate(schema, d))
        print(f"| {name} | {cost:,} | {pricing:.2f} | {validation:.2f} |")


if __name__ == "__main__":
    main()

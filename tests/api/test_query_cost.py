"""Query cost: the price of a document before it runs, the refusal over MAX_QUERY_COST before any
database work, `extensions.cost` on every response, and the README's documents under the limit.
The per-client bucket is tested in `test_query_cost_bucket.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
    parse,
    print_ast,
    type_from_ast,
    validate,
)
from pydantic import ValidationError
from redis.asyncio import Redis
from starlette.applications import Starlette

from documents.demo_catalog import load_demo_catalog
from schema.cost import calculator
from schema.cost.calculator import CostUnboundedError, QueryCost
from schema.cost.rules import INTROSPECTION_COST, field_costs
from schema.root import build_schema
from settings import Settings
from tests.factories import global_id, make_category, make_product, make_user
from tests.support import MongoCommandCounter, access_token_for, error_codes, graphql

SCHEMA = build_schema()._schema
README = Path(__file__).resolve().parents[2] / "README.md"

# Issue 11, item 1: 300 bytes that returned 596,000 products after 40 s of CPU.
ISSUE_QUERY = """
{ products(first:100, filter:{priceMin:"0.00"}){ edges { node { category { products(first:100){ edges {
  node { category { products(first:100){ edges { node { name } } } } } } } } } } } }
"""
# Fragments spread into every branch double the work at each level; priced once per fragment.
FRAGMENT_FAN_OUT = (
    "{ categories(first: 100) { edges { node { ...L0 } } } }\n"
    + "\n".join(
        f"fragment L{level} on Category {{ subcategories {{ ...L{level + 1} }} "
        f"parent {{ ...L{level + 1} }} }}"
        for level in range(7)
    )
    + "\nfragment L7 on Category { name }"
)
PRODUCT_LIST = """
query ProductList($first: Int) {
  products(first: $first) { edges { node { name category { name } } } }
}
"""


def requested_cost(
    query: str, variables: dict[str, Any] | None = None, *, settings: Settings
) -> int | None:
    document = parse(query)
    assert validate(SCHEMA, document) == []
    return QueryCost(SCHEMA, document, None, variables, field_costs(settings)).requested()


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        # Scalars and enums are free; each object costs 1.
        ('{ product(slug: "x") { name stock category { name parent { name } } } }', None, 3),
        ("{ __typename }", None, 0),
        # A connection: 2, plus its page size times one edge; an edge costs what its node does.
        (
            "{ products(first: 10) { totalCount pageInfo { hasNextPage endCursor } "
            "edges { cursor node { name } } } }",
            None,
            12,
        ),
        ("{ products { edges { node { name } } } }", None, 22),  # 20 without first
        ("{ products(last: 5) { edges { node { name } } } }", None, 7),
        ("{ products(first: 0) { totalCount } }", None, 2),
        # Over 100 the resolver refuses the page before any work: it is priced at 100.
        ("{ products(first: 500) { edges { node { name } } } }", None, 102),
        # Nested pages multiply.
        (
            "{ categories(first: 5) { edges { node { products(first: 10) { edges { node { name "
            "category { name } } } } } } } }",
            None,
            2 + 5 * (1 + 2 + 10 * 2),
        ),
        (ISSUE_QUERY, None, 2 + 100 * (1 + 1 + 2 + 100 * (1 + 1 + 2 + 100))),
        # Page sizes come from variables, and from their defaults.
        (PRODUCT_LIST, {"first": 50}, 2 + 50 * 2),
        (PRODUCT_LIST, {}, 2 + 20 * 2),
        ("query($n: Int = 5) { products(first: $n) { edges { node { name } } } }", {}, 7),
        # Each alias is its own field; one field selected twice under one key is charged once.
        (
            "{ a: products(first: 10) { edges { node { name } } } "
            "b: products(first: 10) { edges { node { name } } } }",
            None,
            24,
        ),
        (
            "{ products(first: 10) { edges { node { name } } } "
            "products(first: 10) { edges { node { category { name } } } } }",
            None,
            2 + 10 * 2,
        ),
        # Named and inline fragments count where they apply.
        (
            "{ products(first: 10) { edges { node { ...Card } } } }\n"
            "fragment Card on Product { name category { name } ... on Product { subcategory "
            "{ name } } ... on Node { id } }",
            None,
            2 + 10 * 3,
        ),
        # @skip and @include follow the variables.
        (
            "query($full: Boolean!) { products(first: 10) { edges { node { name "
            "category @include(if: $full) { name } subcategory @skip(if: $full) { name } } } } }",
            {"full": True},
            2 + 10 * 2,
        ),
        (
            "query($full: Boolean!) { products(first: 10) { edges { node { name "
            "category @include(if: $full) { name } ...Extra @include(if: $full) } } } }\n"
            "fragment Extra on Product { subcategory { name } }",
            {"full": False},
            2 + 10 * 1,
        ),
        # An interface costs what its most expensive possible type's selection costs.
        (
            '{ node(id: "x") { id ... on Product { category { name } } '
            "... on Category { parent { name } products(first: 5) { edges { node { name } } } } } }",
            None,
            1 + 1 + 2 + 5,
        ),
        # Plain lists: 1, plus their bound times one element's selection.
        ('{ product(slug: "x") { images { url } ratingHistogram { stars count } } }', None, 3),
        (
            "{ categories(first: 10) { edges { node { subcategories { parent { name } } } } } }",
            None,
            2 + 10 * (1 + 1 + 10 * 1),
        ),
        (
            '{ nodes(ids: ["a", "b", "c"]) { ... on Product { category { name } } } }',
            None,
            1 + 3 * 2,
        ),
        # A mutation costs 10, plus what it returns.
        ("mutation { logout { errors { code } } }", None, 10 + 1),
        # Introspection is priced as a whole: its depth is bounded by graphql-core's rule.
        ("{ __schema { types { name fields { name } } } }", None, INTROSPECTION_COST),
    ],
)
def test_the_requested_cost_of_a_document(
    settings: Settings, query: str, variables: dict[str, Any] | None, cost: int
) -> None:
    assert requested_cost(query, variables, settings=settings) == cost


def test_a_document_that_cannot_run_has_no_price(settings: Settings) -> None:
    # A variable of the wrong type: execution refuses it, before any work.
    assert requested_cost(PRODUCT_LIST, {"first": "ten"}, settings=settings) is None


def test_fragments_reached_by_many_paths_are_priced_once_each(settings: Settings) -> None:
    level = 0  # L7: scalars
    for _ in range(7):  # each level: subcategories (1 + 10 x the next) and parent (1 + the next)
        level = (1 + 10 * level) + (1 + level)

    assert requested_cost(FRAGMENT_FAN_OUT, settings=settings) == 2 + 100 * (1 + level)


def test_a_document_too_large_to_price_is_unbounded(settings: Settings) -> None:
    document = parse(ISSUE_QUERY)

    with pytest.raises(CostUnboundedError):
        QueryCost(SCHEMA, document, None, None, field_costs(settings), max_work=10).requested()


def test_every_list_of_objects_in_the_schema_has_a_size(settings: Settings) -> None:
    rules = field_costs(settings)
    unsized = []
    for type_name, graphql_type in SCHEMA.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        for field_name, field in graphql_type.fields.items():
            is_list = is_list_type(get_nullable_type(field.type))
            if not is_list or not is_composite_type(get_named_type(field.type)):
                continue
            if type_name.endswith("Connection") and field_name == "edges":
                continue  # sized by the page
            rule = rules.get(f"{type_name}.{field_name}") or rules.get(f"*.{field_name}")
            if rule is None or rule.size is None:
                unsized.append(f"{type_name}.{field_name}")

    assert unsized == []


def test_the_bucket_must_hold_the_most_expensive_query() -> None:
    with pytest.raises(ValidationError, match="QUERY_COST_BUCKET_SIZE"):
        Settings(_env_file=None, max_query_cost=1000, query_cost_bucket_size=999)  # type: ignore[call-arg]


# --- refusals over MAX_QUERY_COST -----------------------------------------------------------------


async def test_the_issues_query_is_refused_before_any_database_work(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, redis: Redis, settings: Settings
) -> None:
    response = await client.post("/graphql", json={"query": ISSUE_QUERY})

    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": 1_040_402,
        "maxCost": 1000,
    }
    assert "1040402" in body["errors"][0]["message"]
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 1_040_402,
        "actualQueryCost": None,
        "throttleStatus": None,
    }
    assert mongo_commands.commands == []
    # Neither the query cache nor a bucket was consulted.
    assert [key async for key in redis.scan_iter(match=f"{settings.redis_key_prefix}*")] == []


async def test_a_signed_in_users_refused_query_does_not_even_load_their_session(
    app: Starlette, client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    token = await access_token_for(app, await make_user())
    mongo_commands.reset()

    body = await graphql(client, ISSUE_QUERY, token=token)

    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]
    assert mongo_commands.commands == []


async def test_the_limit_is_a_setting(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"max_query_cost": 41})
    try:
        over = await graphql(client, PRODUCT_LIST, {"first": 20})
        under = await graphql(client, PRODUCT_LIST, {"first": 19})
    finally:
        app.state.settings = settings

    assert over["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": 42,
        "maxCost": 41,
    }
    assert "errors" not in under


async def test_fragment_fan_out_is_refused_and_skipped_fragments_are_free(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    refused = await graphql(client, FRAGMENT_FAN_OUT)
    skipped = await graphql(client, FRAGMENT_FAN_OUT.replace("...L0", "...L0 @skip(if: true) id"))

    assert error_codes(refused) == ["QUERY_TOO_COMPLEX"]
    assert refused["errors"][0]["extensions"]["cost"] > 10**8
    assert skipped["data"] == {"categories": {"edges": []}}
    assert skipped["extensions"]["cost"]["requestedQueryCost"] == 2 + 100 * 1


async def test_a_document_too_large_to_price_is_refused(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calculator, "MAX_WORK", 10)

    body = await graphql(client, ISSUE_QUERY)

    assert body["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": None,
        "maxCost": 1000,
    }
    assert mongo_commands.commands == []


# --- extensions.cost --------------------------------------------------------------------------------


async def test_every_response_reports_the_requested_and_the_actual_cost(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    for name in ("Runner", "Walker", "Hiker"):
        await make_product(shoes, name=name)

    body = await graphql(client, PRODUCT_LIST, {"first": 100})
    missing = await graphql(client, '{ product(slug: "nothing") { name category { name } } }')

    assert len(body["data"]["products"]["edges"]) == 3
    # Requested: a page of 100 with their categories; actual: the 3 that came back.
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 2 + 100 * 2,
        "actualQueryCost": 2 + 3 * 2,
        "throttleStatus": None,  # tests run without the bucket; see test_query_cost_bucket
    }
    # A lookup that found nothing cost its lookup.
    assert missing["extensions"]["cost"]["requestedQueryCost"] == 2
    assert missing["extensions"]["cost"]["actualQueryCost"] == 1


async def test_the_actual_cost_of_an_interface_is_the_returned_types(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, name="Runner")
    query = """
    query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Product { category { name } }
      ... on Category { parent { name } products(first: 5) { edges { node { name } } } } } }
    """

    body = await graphql(client, query, {"ids": [global_id(runner), global_id(shoes)]})

    assert body["extensions"]["cost"] == {
        # Each id costs 1, plus its costliest possible type: a category with a page of 5.
        "requestedQueryCost": 1 + 2 * (1 + 1 + 2 + 5),
        # The product with its category; the category with its 1 product (and a null parent:
        # a lookup that found nothing costs the lookup).
        "actualQueryCost": 1 + (1 + 1) + (1 + 1 + 2 + 1),
        "throttleStatus": None,
    }


async def test_a_cached_answer_reports_the_same_costs(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Runner")

    first = await graphql(client, PRODUCT_LIST, {"first": 10})
    again = await graphql(client, PRODUCT_LIST, {"first": 10})

    assert (first["extensions"]["cache"], again["extensions"]["cache"]) == ("MISS", "HIT")
    assert first["extensions"]["cost"] == again["extensions"]["cost"]
    assert again["extensions"]["cost"]["actualQueryCost"] == 2 + 1 * 2


async def test_a_document_that_does_not_validate_reports_no_cost(client: httpx.AsyncClient) -> None:
    body = await graphql(client, "{ products { secretField } }")

    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": None,
        "actualQueryCost": None,
        "throttleStatus": None,
    }


async def test_a_mutation_costs_ten_and_what_it_returns(client: httpx.AsyncClient) -> None:
    body = await graphql(
        client, 'mutation { mergeCart(cartToken: "none") { cart { id } errors { code } } }'
    )

    assert body["extensions"]["cost"]["requestedQueryCost"] == 10 + 1 + 1


# --- the README's documents --------------------------------------------------------------------------


def readme_operations() -> list[tuple[str, DocumentNode]]:
    """Every operation in the README's GraphQL examples, as a document of its own, with the
    heading it sits under."""
    operations = []
    heading = ""
    block: list[str] | None = None
    for line in README.read_text().splitlines():
        if block is None and line.startswith("#"):
            heading = line
        elif block is None and line.strip() == "```graphql":
            block = []
        elif block is not None and line.strip() == "```":
            document = parse("\n".join(block))
            fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
            operations += [
                (heading, DocumentNode(definitions=(definition, *fragments)))
                for definition in document.definitions
                if isinstance(definition, OperationDefinitionNode)
            ]
            block = None
        elif block is not None:
            block.append(line)
    return operations


def sample_variables(document: DocumentNode) -> dict[str, Any]:
    """A value for each required variable (the README leaves them to the reader)."""
    samples = {"String": "x", "ID": "x", "Int": 1, "Boolean": True}
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    variables = {}
    for definition in operation.variable_definitions or ():
        variable_type = type_from_ast(SCHEMA, definition.type)
        if variable_type is not get_nullable_type(variable_type):  # required
            variables[definition.variable.name.value] = samples[get_named_type(variable_type).name]
    return variables


def test_every_readme_example_is_valid_and_under_the_default_limit(settings: Settings) -> None:
    operations = readme_operations()
    sections = {section for section, _ in operations}
    costs = []
    for section, document in operations:
        assert validate(SCHEMA, document) == [], section
        cost = QueryCost(
            SCHEMA, document, None, sample_variables(document), field_costs(settings)
        ).requested()
        costs.append((section, cost))

    assert "## Example queries" in sections
    assert "### A product page with its ratings and reviews" in sections
    assert "### Walkthrough for a storefront (cash on delivery)" in sections
    assert len(operations) >= 40
    over = [(section, cost) for section, cost in costs if cost is None or cost > 1000]
    assert over == [], costs
    assert settings.max_query_cost == 1000


async def test_the_readme_storefront_queries_run_under_the_limit(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await load_demo_catalog(300, public_url=settings.public_url, seed=7)
    listed = await graphql(client, "{ products(first: 1) { edges { node { slug } } } }")
    slug = listed["data"]["products"]["edges"][0]["node"]["slug"]
    operations = readme_operations()
    examples = [print_ast(d) for heading, d in operations if heading == "## Example queries"]
    product_page = next(
        print_ast(d)
        for heading, d in operations
        if heading == "### A product page with its ratings and reviews"
    )

    # The menu, the laptops page, the search, the category page, a product; the product page.
    bodies = [await graphql(client, example) for example in examples[:5]]
    bodies.append(await graphql(client, product_page, {"slug": slug}))

    for body in bodies:
        assert "errors" not in body, body
        cost = body["extensions"]["cost"]
        assert 0 < cost["actualQueryCost"] <= cost["requestedQueryCost"] <= 1000, cost

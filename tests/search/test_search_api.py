"""`products(search:)`, facets and `searchSuggestions` answered from a Tantivy index that a
follower keeps from the test session's MongoDB, as the worker keeps it (README, "Search")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from documents.products import ProductFields, change_product, delete_product
from integrations.search.tantivy_engine import TantivySearch
from resolvers.search_index import SearchIndexFollower
from tests.factories import global_id, make_category, make_product
from tests.support import MongoCommandCounter, admin_token, error_codes, graphql

SEARCH = """
query Search($search: String, $first: Int, $after: String, $last: Int, $filter: ProductFilter,
             $sortBy: ProductSortInput) {
  products(search: $search, first: $first, after: $after, last: $last, filter: $filter,
           sortBy: $sortBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { node { name category { name } } }
  }
}
"""
HIGHLIGHTS = """
query Highlights($search: String) {
  products(search: $search) {
    edges { highlights { field fragment ranges { start end } } node { name } }
  }
}
"""
FACETS = """
query Facets($search: String, $filter: ProductFilter, $bands: [PriceBandInput!]) {
  products(search: $search, filter: $filter, first: 0) {
    facets(priceBands: $bands) {
      brands { brand count }
      categories { category { name } count }
      priceBands { min { amount } max { amount } count }
      ratings { minRating count }
    }
  }
}
"""
SUGGESTIONS = """
query Suggest($prefix: String!, $first: Int! = 8) {
  searchSuggestions(prefix: $prefix, first: $first) {
    kind text product { name } category { name }
  }
}
"""


async def search(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, SEARCH, variables)
    assert "errors" not in body, body
    return body["data"]["products"]


def names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


async def test_relevance_pages_with_cursors_and_counts(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Plain Sandal", description="Goes well with a trail runner")
    await make_product(shoes, name="Trail Runner Pro", description="For mountain trails")
    await make_product(shoes, name="Leather Boot", description="Waterproof")
    await search_index.catch_up()

    first = await search(client, search="trail runner", first=1)
    second = await search(
        client, search="trail runner", first=1, after=first["pageInfo"]["endCursor"]
    )

    assert names(first) == ["Trail Runner Pro"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["totalCount"] == 2
    assert names(second) == ["Plain Sandal"]
    assert second["pageInfo"] == second["pageInfo"] | {
        "hasNextPage": False,
        "hasPreviousPage": True,
    }
    assert first["edges"][0]["node"]["category"] == {"name": "Shoes"}


async def test_a_relevance_cursor_belongs_to_its_search(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Trail Runner")
    await make_product(shoes, name="Trail Boot")
    await search_index.catch_up()
    cursor = (await search(client, search="trail", first=1))["pageInfo"]["endCursor"]

    body = await graphql(client, SEARCH, {"search": "boot", "first": 1, "after": cursor})

    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_typos_are_forgiven_and_the_last_word_may_be_unfinished(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    await make_product(audio, name="Wireless Headphones")
    await make_product(audio, name="Wired Speaker")
    await search_index.catch_up()

    assert names(await search(client, search="wireles hedphones")) == ["Wireless Headphones"]
    assert names(await search(client, search="wireless headph")) == ["Wireless Headphones"]


async def test_filters_combine_with_the_search(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio, kitchen = await make_category("Audio"), await make_category("Kitchen")
    await make_product(audio, name="Wireless Cheap", price=1_000, ratings=[0, 0, 0, 0, 3])
    await make_product(audio, name="Wireless Dear", price=90_000, ratings=[0, 0, 0, 0, 3])
    await make_product(audio, name="Wireless Sold Out", price=1_000, stock=0)
    await make_product(audio, name="Wireless Poorly Rated", price=1_000, ratings=[3, 0, 0, 0, 0])
    await make_product(kitchen, name="Wireless Kettle", price=1_000, ratings=[0, 0, 0, 0, 3])
    await search_index.catch_up()

    found = await search(
        client,
        search="wireless",
        filter={
            "categoryId": global_id(audio),
            "priceMax": "100",
            "inStock": True,
            "minRating": 4,
        },
    )

    assert names(found) == ["Wireless Cheap"]
    assert found["totalCount"] == 1


async def test_unpublished_products_never_show_even_before_the_index_learns_of_them(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    shown = await make_product(audio, name="Wireless Shown")
    hidden = await make_product(audio, name="Wireless Hidden")
    await make_product(audio, name="Wireless Draft", published=False)
    await search_index.catch_up()

    await change_product(
        hidden.id, ProductFields(published=False), currency="INR"
    )  # the index still holds it
    before_catch_up = await search(client, search="wireless")
    await search_index.catch_up()
    after_catch_up = await search(client, search="wireless")

    assert names(before_catch_up) == names(after_catch_up) == [shown.name]
    assert after_catch_up["totalCount"] == 1


async def test_a_write_and_a_delete_show_once_the_follower_commits_also_in_cached_answers(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    old = await make_product(audio, name="Wireless Old")
    await search_index.catch_up()
    await search(client, search="wireless")
    cached = await graphql(client, SEARCH, {"search": "wireless"})
    assert cached["extensions"]["cache"] == "HIT"

    new = await make_product(audio, name="Wireless New")  # retires nothing a search recorded
    await search_index.catch_up()  # the commit retires the cached search answers
    with_new = await search(client, search="wireless")
    await delete_product(old.id)
    await search_index.catch_up()

    assert sorted(names(with_new)) == sorted([new.name, old.name])
    assert names(await search(client, search="wireless")) == [new.name]


async def test_sorting_a_search_by_a_field_pages_through_it(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    for price in (3_000, 1_000, 2_000):
        await make_product(audio, name=f"Wireless {price}", price=price)
    await make_product(audio, name="Wired 500", price=500)
    await search_index.catch_up()
    by_price = {"field": "PRICE", "direction": "DESC"}

    first = await search(client, search="wireless", sortBy=by_price, first=2)
    rest = await search(
        client, search="wireless", sortBy=by_price, first=2, after=first["pageInfo"]["endCursor"]
    )

    assert names(first) + names(rest) == ["Wireless 3000", "Wireless 2000", "Wireless 1000"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_sorting_a_search_by_rating_pages_through_it(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    # Averages 5.0, 4.5 (a fraction), 3.0 and none at all.
    for name, ratings in (
        ("Best", [0, 0, 0, 0, 2]),
        ("Good", [0, 0, 0, 1, 1]),
        ("Fair", [0, 0, 1, 0, 0]),
    ):
        await make_product(audio, name=f"Wireless {name}", ratings=ratings)
    await make_product(audio, name="Wireless New")
    await search_index.catch_up()
    by_rating = {"field": "RATING", "direction": "DESC"}

    seen: list[str] = []
    after = None
    for _ in range(4):
        page = await search(client, search="wireless", sortBy=by_rating, first=1, after=after)
        seen += names(page)
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break

    assert seen == ["Wireless Best", "Wireless Good", "Wireless Fair", "Wireless New"]


async def test_a_search_with_no_word_the_index_holds_finds_nothing(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    await make_product(await make_category("Audio"), name="Wireless Headphones")
    await search_index.catch_up()

    for text in ("!!!", "\U0001f3a7", "x" * 41):
        found = await search(client, search=text)
        assert (found["totalCount"], found["edges"]) == (0, []), text
    body = await graphql(client, FACETS, {"search": "!!!"})
    assert body["data"]["products"]["facets"]["brands"] == []


async def test_what_the_index_cannot_page_is_refused_with_codes(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    await make_product(await make_category("Audio"), name="Wireless Headphones")
    await search_index.catch_up()
    first = await search(client, search="wireless")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"sortBy": {"field": "NAME"}}, "sortBy"),
        ({"sortBy": {"field": "RELEVANCE", "direction": "ASC"}}, "sortBy"),
        ({"last": 5}, "last"),
        ({"search": "speaker", "after": first["pageInfo"]["endCursor"]}, "after"),
        ({"search": "x" * 201}, "search"),
        ({"filter": {"priceMin": "5", "priceMax": "1"}}, "priceMin"),
    ]
    for variables, field in cases:
        body = await graphql(client, SEARCH, {"search": "wireless"} | variables)

        assert error_codes(body) == ["BAD_USER_INPUT"], variables
        assert body["errors"][0]["extensions"]["field"] == field


async def test_highlights_mark_the_matched_words(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio = await make_category("Audio")
    await make_product(audio, name="Wireless Headphones", description="Quiet and wireless.")
    await search_index.catch_up()

    body = await graphql(client, HIGHLIGHTS, {"search": "wireless"})
    plain = await graphql(client, HIGHLIGHTS, {"search": None})

    highlights = {h["field"]: h for h in body["data"]["products"]["edges"][0]["highlights"]}
    name = highlights["NAME"]
    assert [name["fragment"][r["start"] : r["end"]] for r in name["ranges"]] == ["Wireless"]
    assert "DESCRIPTION" in highlights
    assert plain["data"]["products"]["edges"][0]["highlights"] == []


async def test_facets_count_each_value_with_the_other_filters(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio, kitchen = await make_category("Audio"), await make_category("Kitchen")
    await make_product(audio, name="Wireless A", brand="Sono", price=1_000, ratings=[0, 0, 0, 0, 2])
    await make_product(audio, name="Wireless B", brand="Sono", price=60_000)
    await make_product(audio, name="Wireless C", brand="Beat", price=1_000)
    await make_product(kitchen, name="Wireless D", brand="Sono", price=1_000)
    await make_product(kitchen, name="Wired E", brand="Sono", price=1_000)
    await search_index.catch_up()

    body = await graphql(
        client,
        FACETS,
        {
            "search": "wireless",
            "filter": {"brand": "Sono", "categoryId": global_id(audio)},
            "bands": [{"min": "0", "max": "100"}, {"min": "100"}],
        },
    )

    facets = body["data"]["products"]["facets"]
    # Brands counted within Audio (their own filter left out); categories within Sono.
    assert facets["brands"] == [{"brand": "Sono", "count": 2}, {"brand": "Beat", "count": 1}]
    assert sorted((c["category"]["name"], c["count"]) for c in facets["categories"]) == [
        ("Audio", 2),
        ("Kitchen", 1),
    ]
    assert [band["count"] for band in facets["priceBands"]] == [1, 1]
    assert facets["priceBands"][1]["max"] is None
    assert {r["minRating"]: r["count"] for r in facets["ratings"]}[4] == 1


async def test_facets_refuse_bad_bands_and_admins_lists(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    await make_product(await make_category("Audio"), name="Wireless A")
    await search_index.catch_up()
    token = await admin_token(client)

    for bands in ([], [{"min": "10", "max": "5"}], [{"min": "-1"}], [{"min": "0"}] * 11):
        body = await graphql(client, FACETS, {"search": "wireless", "bands": bands})
        assert error_codes(body) == ["BAD_USER_INPUT"], bands
    admins = await graphql(client, FACETS, {"filter": {"includeUnpublished": True}}, token=token)
    assert error_codes(admins) == ["BAD_USER_INPUT"]


async def test_suggestions_offer_products_brands_and_categories(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    audio = await make_category("Wireless Audio")
    await make_product(audio, name="Wireless Headphones", brand="Wirecraft")
    await make_product(audio, name="Wireless Draft", published=False)
    await search_index.catch_up()

    body = await graphql(client, SUGGESTIONS, {"prefix": "wire"})
    too_many = await graphql(client, SUGGESTIONS, {"prefix": "wire", "first": 21})

    found = {(s["kind"], s["text"]) for s in body["data"]["searchSuggestions"]}
    assert found == {
        ("CATEGORY", "Wireless Audio"),
        ("BRAND", "Wirecraft"),
        ("PRODUCT", "Wireless Headphones"),
    }
    product = next(s for s in body["data"]["searchSuggestions"] if s["kind"] == "PRODUCT")
    assert product["product"] == {"name": "Wireless Headphones"}
    assert error_codes(too_many) == ["BAD_USER_INPUT"]


async def test_a_search_page_reads_mongodb_once_whatever_its_size(
    client: httpx.AsyncClient,
    search_index: SearchIndexFollower,
    mongo_commands: MongoCommandCounter,
) -> None:
    categories = [await make_category(f"Category {n}") for n in range(5)]
    subcategories = [await make_category(f"Sub {n}", parent=categories[n]) for n in range(2)]
    for number in range(20):
        # Subcategories for some (their parent as category), none for the others.
        where = subcategories[number % 5] if number % 5 < 2 else categories[number % 5]
        await make_product(where, name=f"Wireless {number}")
    await search_index.catch_up()
    mongo_commands.reset()

    body = await graphql(
        client,
        '{ products(search: "wireless", first: 20) '
        "{ edges { node { name category { name } subcategory { name } } } } }",
    )

    nodes = [edge["node"] for edge in body["data"]["products"]["edges"]]
    assert len(nodes) == 20
    for node in nodes:
        number = int(node["name"].split()[-1]) % 5
        subcategory = {"name": f"Sub {number}"} if number < 2 else None
        assert (node["category"], node["subcategory"]) == (
            {"name": f"Category {number}"},
            subcategory,
        )
    # The products by id with their categories joined; the count comes from the index.
    assert mongo_commands.commands == ["aggregate"]


async def test_before_the_first_build_mongodb_answers(
    client: httpx.AsyncClient, tmp_path: Path, replace_services: Callable[..., None]
) -> None:
    replace_services(search=TantivySearch.reader(tmp_path / "never-built"))
    await make_product(await make_category("Audio"), name="Wireless Headphones")

    assert names(await search(client, search="wireless")) == ["Wireless Headphones"]


async def test_without_an_index_facets_are_null_and_suggestions_empty(
    client: httpx.AsyncClient, replace_services: Callable[..., None]
) -> None:
    await make_product(await make_category("Audio"), name="Wireless Headphones")
    replace_services(search=None)  # SEARCH_ENGINE=mongo: nothing to wait for, nothing to retry

    facets = await graphql(client, FACETS, {"search": "wireless"})
    suggestions = await graphql(client, SUGGESTIONS, {"prefix": "wire"})

    assert "errors" not in facets
    assert facets["data"] == {"products": {"facets": None}}
    assert "errors" not in suggestions
    assert suggestions["data"] == {"searchSuggestions": []}


async def test_while_the_index_is_built_facets_say_so_and_the_page_stands(
    client: httpx.AsyncClient, replace_services: Callable[..., None], tmp_path: Path
) -> None:
    await make_product(await make_category("Audio"), name="Wireless Headphones")
    replace_services(search=TantivySearch.reader(tmp_path / "not-built"))
    query = "{ products(first: 5) { edges { node { name } } facets { brands { brand } } } }"

    body = await graphql(client, query, expect_status=503)

    assert error_codes(body) == ["SERVICE_UNAVAILABLE"]
    assert body["data"]["products"]["facets"] is None
    assert [edge["node"]["name"] for edge in body["data"]["products"]["edges"]] == [
        "Wireless Headphones"
    ]


async def test_aliases_of_one_lists_facets_are_counted_once(
    client: httpx.AsyncClient, search_index: SearchIndexFollower, monkeypatch: Any
) -> None:
    await make_product(await make_category("Audio"), name="Wireless Headphones", brand="Sony")
    await search_index.catch_up()
    reader = client._transport.app.state.services.search  # type: ignore[attr-defined]
    searches: list[Any] = []
    real = reader.search

    async def counted(request: Any) -> Any:
        searches.append(request)
        return await real(request)

    monkeypatch.setattr(reader, "search", counted)
    query = (
        '{ products(search: "wireless", first: 0) { a: facets { brands { brand count } } '
        "b: facets { brands { brand count } } } }"
    )

    body = await graphql(client, query)

    assert body["data"]["products"]["a"] == body["data"]["products"]["b"]
    assert body["data"]["products"]["a"]["brands"] == [{"brand": "Sony", "count": 1}]
    assert sum(request.facet_price_bands is not None for request in searches) == 1


async def test_admins_search_unpublished_products_in_mongodb(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    await make_product(await make_category("Audio"), name="Wireless Draft", published=False)
    await search_index.catch_up()
    token = await admin_token(client)

    body = await graphql(
        client, SEARCH, {"search": "wireless", "filter": {"includeUnpublished": True}}, token=token
    )

    assert names(body["data"]["products"]) == ["Wireless Draft"]


async def test_descriptions_are_searched_and_highlighted_as_text_not_markup(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    description = '<p>Great <strong>noise</strong> cancelling &amp; more</p><p><a href="https://example.com/">Battery</a></p>'
    await make_product(await make_category("Audio"), name="Headphones", description=description)
    await search_index.catch_up()

    assert (await search(client, search="strong"))["edges"] == []
    assert (await search(client, search="href"))["edges"] == []
    body = await graphql(client, HIGHLIGHTS, {"search": "battery"})
    (edge,) = body["data"]["products"]["edges"]
    (marked,) = edge["highlights"]
    assert marked["field"] == "DESCRIPTION"
    assert marked["fragment"] == "Great noise cancelling & more Battery"
    assert marked["ranges"] == [{"start": 30, "end": 37}]


async def test_one_letter_suggests_nothing(
    client: httpx.AsyncClient, search_index: SearchIndexFollower
) -> None:
    await make_product(await make_category("Wearables"), name="Wireless Watch", brand="Wirecraft")
    await search_index.catch_up()

    one = await graphql(client, SUGGESTIONS, {"prefix": "w"})
    two = await graphql(client, SUGGESTIONS, {"prefix": "wi"})

    assert one["data"]["searchSuggestions"] == []
    assert {(s["kind"], s["text"]) for s in two["data"]["searchSuggestions"]} == {
        ("BRAND", "Wirecraft"),
        ("PRODUCT", "Wireless Watch"),
    }

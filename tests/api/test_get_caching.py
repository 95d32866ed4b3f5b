"""GET for CDNs: anonymous catalog queries over GET are public (Cache-Control, a strong ETag, 304
on If-None-Match); anything personal, failed or sent by POST is `private, no-store`; large
answers are gzipped for clients that accept it."""

from __future__ import annotations

import hashlib

import httpx
import orjson

from tests.factories import global_id, make_category, make_product, make_user
from tests.support import user_token

PRODUCTS = "query Products { products(first: 50) { edges { node { id name slug brand } } } }"
ME = "query Me { me { id email } }"
USER_NODE = "query Node($id: ID!) { node(id: $id) { id } }"
CART = "query Cart { cart { id } }"
PUBLIC = "public, max-age=60, stale-while-revalidate=300"
PRIVATE = "private, no-store"
VARY = {"Authorization", "X-Cart-Token", "Origin"}
FRONTEND = "http://localhost:3000"  # the tests' allowed origin (FRONTEND_URL's)
STRANGER = "https://evil.example"


def vary(response: httpx.Response) -> set[str]:
    return {name.strip() for name in response.headers.get("vary", "").split(",") if name.strip()}


async def get(
    client: httpx.AsyncClient,
    query: str,
    variables: dict | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    params = {"query": query}
    if variables is not None:
        params["variables"] = orjson.dumps(variables).decode()
    return await client.get(
        "/graphql", params=params, headers={"accept-encoding": "identity", **(headers or {})}
    )


async def test_an_anonymous_catalog_query_over_get_is_public_with_a_strong_etag(
    client: httpx.AsyncClient,
) -> None:
    await make_product(await make_category(), name="Trail shoe")

    first = await get(client, PRODUCTS)
    second = await get(client, PRODUCTS)

    assert first.status_code == 200
    assert first.json() == {"data": first.json()["data"]}  # no per-request extensions
    assert first.json()["data"]["products"]["edges"][0]["node"]["name"] == "Trail shoe"
    assert first.headers["cache-control"] == PUBLIC
    etag = first.headers["etag"]
    assert etag == f'"{hashlib.sha256(first.content).hexdigest()[:32]}"'
    assert second.headers["etag"] == etag  # a cache MISS, then a HIT: the same representation
    assert vary(first) >= VARY


async def test_a_matching_if_none_match_answers_304_without_a_body(
    client: httpx.AsyncClient,
) -> None:
    await make_product(await make_category())
    etag = (await get(client, PRODUCTS)).headers["etag"]

    revalidated = await get(client, PRODUCTS, headers={"if-none-match": f'"other", W/{etag}'})
    changed = await get(client, PRODUCTS, headers={"if-none-match": '"other"'})

    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == etag
    assert revalidated.headers["cache-control"] == PUBLIC
    assert changed.status_code == 200
    assert changed.headers["etag"] == etag


async def test_every_answer_varies_on_origin_whether_the_origin_is_allowed_other_or_none(
    client: httpx.AsyncClient,
) -> None:
    # A CDN that stored the answer to a request without Origin (no CORS headers) must not serve
    # it to the storefront's origin, nor the other way round.
    await make_product(await make_category())
    etag = (await get(client, PRODUCTS)).headers["etag"]

    for origin in ({}, {"origin": STRANGER}, {"origin": FRONTEND}):
        full = await get(client, PRODUCTS, headers=origin)
        revalidated = await get(client, PRODUCTS, headers={**origin, "if-none-match": etag})
        private = await client.post("/graphql", json={"query": PRODUCTS}, headers=origin)

        assert (full.status_code, revalidated.status_code) == (200, 304), origin
        assert vary(full) == VARY, origin
        assert revalidated.headers["vary"] == full.headers["vary"], origin
        assert vary(private) == VARY, origin
        for answer in (full, revalidated):
            allowed = answer.headers.get("access-control-allow-origin")
            assert allowed == (FRONTEND if origin.get("origin") == FRONTEND else None), origin


async def test_a_304_has_the_vary_of_its_200_for_an_answer_large_enough_to_gzip(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    for number in range(30):
        await make_product(category, name=f"Running shoe model {number}", brand="Acme Sports")

    for encoding in ("gzip", "identity"):
        full = await get(client, PRODUCTS, headers={"accept-encoding": encoding})
        revalidated = await get(
            client,
            PRODUCTS,
            headers={"accept-encoding": encoding, "if-none-match": full.headers["etag"]},
        )

        assert len(full.content) >= 1024
        assert revalidated.status_code == 304, encoding
        assert vary(full) == VARY | {"Accept-Encoding"}, encoding
        assert revalidated.headers["vary"] == full.headers["vary"], encoding


async def test_an_authenticated_get_is_private(client: httpx.AsyncClient) -> None:
    await make_product(await make_category())
    token = await user_token(client)

    response = await get(client, PRODUCTS, headers={"authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["data"]["products"]["edges"]
    assert response.headers["cache-control"] == PRIVATE
    assert "etag" not in response.headers
    assert vary(response) >= VARY


async def test_a_personal_result_over_get_is_private(client: httpx.AsyncClient) -> None:
    token = await user_token(client, "me@example.com")

    response = await get(client, ME, headers={"authorization": f"Bearer {token}"})

    assert response.json()["data"]["me"]["email"] == "me@example.com"
    assert response.headers["cache-control"] == PRIVATE
    assert "etag" not in response.headers


async def test_a_catalog_field_that_read_private_data_is_private_even_anonymously(
    client: httpx.AsyncClient,
) -> None:
    someone = await make_user()

    response = await get(client, USER_NODE, {"id": global_id(someone)})

    assert response.json() == {"data": {"node": None}, "extensions": response.json()["extensions"]}
    assert response.headers["cache-control"] == PRIVATE


async def test_a_get_with_a_cart_token_is_private(client: httpx.AsyncClient) -> None:
    await make_product(await make_category())

    with_cart = await get(client, PRODUCTS, headers={"x-cart-token": "some-cart"})

    assert with_cart.headers["cache-control"] == PRIVATE


async def test_a_browser_sending_its_refresh_cookie_still_gets_a_public_answer(
    client: httpx.AsyncClient,
) -> None:
    # Browsers send the refresh cookie (path /graphql) with every credentialed request; queries
    # never read it, so it must not cost the storefront its CDN caching.
    await make_product(await make_category())

    plain = await get(client, PRODUCTS)
    with_cookie = await get(client, PRODUCTS, headers={"cookie": "refresh_token=abc"})

    assert with_cookie.headers["cache-control"].startswith("public")
    assert with_cookie.headers["etag"] == plain.headers["etag"]
    assert "cookie" not in with_cookie.headers["vary"].lower()


async def test_non_catalog_queries_and_errors_over_get_are_private(
    client: httpx.AsyncClient,
) -> None:
    cart = await get(client, CART)
    invalid = await get(client, "{ products { nope } }")

    assert cart.headers["cache-control"] == PRIVATE
    assert invalid.status_code == 200
    assert invalid.json()["errors"]
    assert invalid.headers["cache-control"] == PRIVATE


async def test_post_answers_are_never_publicly_cached(client: httpx.AsyncClient) -> None:
    await make_product(await make_category())

    response = await client.post("/graphql", json={"query": PRODUCTS})

    assert response.status_code == 200
    assert response.headers["cache-control"] == PRIVATE
    assert "etag" not in response.headers


async def test_a_large_answer_is_gzipped_for_a_client_that_accepts_it(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    for number in range(30):
        await make_product(category, name=f"Running shoe model {number}", brand="Acme Sports")

    plain = await get(client, PRODUCTS)
    zipped = await get(client, PRODUCTS, headers={"accept-encoding": "gzip"})

    assert len(plain.content) >= 1024
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # httpx decodes it
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.headers["cache-control"] == PUBLIC
    assert zipped.headers["etag"] != plain.headers["etag"]
    assert "Accept-Encoding" in vary(zipped)


async def test_a_mutation_over_get_is_refused_and_private(client: httpx.AsyncClient) -> None:
    response = await get(client, "mutation { logout { ok } }")

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "mutations are not allowed when using GET"
    assert response.headers["cache-control"] == PRIVATE


async def test_head_is_answered_as_get_would_be(client: httpx.AsyncClient) -> None:
    await make_product(await make_category())
    params = {"query": PRODUCTS}
    full = await get(client, PRODUCTS)

    head = await client.head("/graphql", params=params, headers={"accept-encoding": "identity"})
    revalidated = await client.head(
        "/graphql", params=params, headers={"if-none-match": full.headers["etag"]}
    )
    mutation = await client.head("/graphql", params={"query": "mutation { logout { ok } }"})

    assert head.status_code == 200
    for name in ("cache-control", "etag", "vary", "content-type", "content-length"):
        assert head.headers[name] == full.headers[name], name
    assert revalidated.status_code == 304
    assert mutation.status_code == 400  # no mutations over GET, nor over HEAD

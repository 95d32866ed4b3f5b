"""`importProducts` (CSV and JSON Lines, upserted by slug) and `GET /admin/export`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from documents.accounts import AuthSession, Role, User
from documents.catalog import Category, Product, StockMovement
from documents.demo_catalog import load_demo_catalog
from settings import Settings
from tests.factories import make_category, make_product, make_user
from tests.support import assert_counts_exact, error_codes, graphql

IMPORT = """
mutation Import($file: Upload!, $dryRun: Boolean) {
  importProducts(file: $file, dryRun: $dryRun) {
    created updated failed
    rows { line slug outcome code field message }
    errors { field code message }
  }
}
"""
EXPORT_URL = "{ productExportUrl }"
PRODUCT_NAME = "query Product($slug: String) { product(slug: $slug) { name } }"
LIST_COUNTS = """
query ListCounts {
  all: products(first: 1) { totalCount }
  inStock: products(first: 1, filter: { inStock: true }) { totalCount }
  outOfStock: products(first: 1, filter: { inStock: false }) { totalCount }
}
"""
HEADER = (
    "slug,name,description,brand,price,discount_percent,stock,category_slug,subcategory_slug,"
    "published,archived"
)
# What an import may change, to compare products before and after.
IMPORTED_FIELDS = (
    "name",
    "description",
    "brand",
    "price",
    "currency",
    "discount_percent",
    "final_price",
    "stock",
    "category_id",
    "subcategory_id",
    "published",
    "archived_at",
)


async def token_for(app: Starlette, role: Role = Role.ADMIN) -> tuple[User, str]:
    """A user with `role` and an access token of a live session (no login rate limits)."""
    user = await make_user(role=role)
    session = await AuthSession(
        user_id=user.id, expires_at=datetime.now(UTC) + timedelta(days=1)
    ).insert()
    token, _ = app.state.services.access_tokens.issue(user, session)
    return user, str(token)


async def import_file(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    token: str | None,
    filename: str = "products.csv",
    content_type: str = "text/csv",
    dry_run: bool = False,
) -> dict[str, Any]:
    """`importProducts` as a GraphQL multipart request; the response body."""
    headers = {"apollo-require-preflight": "true"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    operations = {"query": IMPORT, "variables": {"file": None, "dryRun": dry_run}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, data, content_type)},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def imported(client: httpx.AsyncClient, data: bytes, **options: Any) -> dict[str, Any]:
    body = await import_file(client, data, **options)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["importProducts"]
    return payload


def csv_file(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode() + b"\n"


def failures(payload: dict[str, Any]) -> list[tuple[int, str | None, str, str | None]]:
    assert all(row["outcome"] == "FAILED" and row["message"] for row in payload["rows"])
    return [(row["line"], row["slug"], row["code"], row["field"]) for row in payload["rows"]]


async def export(client: httpx.AsyncClient, token: str | None, fmt: str = "csv") -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await client.get(f"/admin/export?format={fmt}", headers=headers)


async def products_by_slug() -> dict[str, dict[str, Any]]:
    rows = await Product.get_pymongo_collection().find({}).to_list()
    return {row["slug"]: row for row in rows}


async def database_state() -> dict[str, list[dict[str, Any]]]:
    return {
        document.Settings.name: await document.get_pymongo_collection()
        .find({}, sort=[("_id", 1)])
        .to_list()
        for document in (Product, StockMovement, Category)
    }


def imported_fields(product: dict[str, Any]) -> dict[str, Any]:
    return {field: product.get(field) for field in IMPORTED_FIELDS}


async def storefront_counts(client: httpx.AsyncClient) -> tuple[int, int, int]:
    """The storefront's `totalCount` of all products, those in stock and those out of stock,
    once the kept counts are checked against a count of the products."""
    await assert_counts_exact()
    body = await graphql(client, LIST_COUNTS)
    assert "errors" not in body, body
    lists = body["data"]
    return (
        lists["all"]["totalCount"],
        lists["inStock"]["totalCount"],
        lists["outOfStock"]["totalCount"],
    )


def json_lines(*lines: dict[str, Any]) -> bytes:
    return b"\n".join(json.dumps(line).encode() for line in lines)


async def shop_categories() -> dict[str, Category]:
    footwear = await make_category("Footwear", slug="footwear")
    bags = await make_category("Bags", slug="bags")
    return {
        "footwear": footwear,
        "running": await make_category("Running", parent=footwear, slug="footwear-running"),
        "bags": bags,
        "backpacks": await make_category("Backpacks", parent=bags, slug="bags-backpacks"),
    }


# --- importing ----------------------------------------------------------------------------------


async def test_a_csv_import_creates_new_slugs_and_updates_existing_ones(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    categories = await shop_categories()
    existing = await make_product(
        categories["running"], slug="trail-runner", name="Trail Runner", price=10_000, stock=10
    )
    admin, token = await token_for(app)
    cached = await graphql(client, PRODUCT_NAME, {"slug": "trail-runner"})
    assert cached["data"]["product"] == {"name": "Trail Runner"}
    data = csv_file(
        'trail-runner,Trail Runner Pro,"<p>Grippy</p><script>x()</script>",Fleet,120.50,10,25,'
        "footwear,footwear-running,true,false",
        "city-walker,City Walker,,Stride,899,0,7,footwear,,false,false",
    )

    payload = await imported(client, data, token=token)

    assert payload == {"created": 1, "updated": 1, "failed": 0, "rows": [], "errors": []}
    products = await products_by_slug()
    assert imported_fields(products["trail-runner"]) == {
        "name": "Trail Runner Pro",
        "description": "<p>Grippy</p>",
        "brand": "Fleet",
        "price": 12_050,
        "currency": "INR",
        "discount_percent": 10,
        "final_price": 10_845,
        "stock": 25,
        "category_id": categories["footwear"].id,
        "subcategory_id": categories["running"].id,
        "published": True,
        "archived_at": None,
    }
    assert products["trail-runner"]["_id"] == existing.id
    assert products["trail-runner"]["images"] == [image.model_dump() for image in existing.images]
    assert imported_fields(products["city-walker"]) == {
        "name": "City Walker",
        "description": "",
        "brand": "Stride",
        "price": 89_900,
        "currency": "INR",
        "discount_percent": 0,
        "final_price": 89_900,
        "stock": 7,
        "category_id": categories["footwear"].id,
        "subcategory_id": None,
        "published": False,
        "archived_at": None,
    }
    # The storefront's cached page of the product is retired.
    fresh = await graphql(client, PRODUCT_NAME, {"slug": "trail-runner"})
    assert fresh["data"]["product"] == {"name": "Trail Runner Pro"}
    # The changed stock is in the history; a created product's stock is not a change.
    movements = await StockMovement.find_all().to_list()
    assert [
        (m.product_id, m.delta, m.before, m.after, m.reason, m.actor_id) for m in movements
    ] == [(existing.id, 15, 10, 25, "import", admin.id)]


async def test_a_json_lines_import_creates_updates_and_leaves_out_keys_alone(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    categories = await shop_categories()
    existing = await make_product(
        categories["running"], slug="trail-runner", name="Trail Runner", price=10_000, stock=10
    )
    _, token = await token_for(app)
    lines = [
        {"slug": "trail-runner", "stock": 4, "discount_percent": 20},
        {
            "slug": "day-pack",
            "name": "Day Pack",
            "price": 1499.5,
            "category_slug": "bags",
            "subcategory_slug": "bags-backpacks",
            "published": True,
        },
        {"slug": "old-pack", "name": "Old Pack", "price": "10", "category_slug": "bags"},
        {"slug": "old-pack-2", "name": "Old Pack", "price": 10, "category_slug": "bags"},
    ]
    lines[2]["archived"] = True
    data = b"\n".join(json.dumps(line).encode() for line in lines)

    # The first byte says JSON Lines, whatever the file is called.
    payload = await imported(client, data, token=token, filename="upload.txt")

    assert payload == {"created": 3, "updated": 1, "failed": 0, "rows": [], "errors": []}
    products = await products_by_slug()
    runner = products["trail-runner"]
    assert (runner["name"], runner["price"], runner["stock"], runner["discount_percent"]) == (
        "Trail Runner",
        10_000,
        4,
        20,
    )
    assert (runner["final_price"], runner["subcategory_id"]) == (8_000, existing.subcategory_id)
    pack = products["day-pack"]
    assert (pack["price"], pack["subcategory_id"], pack["published"]) == (
        149_950,
        categories["backpacks"].id,
        True,
    )
    assert products["old-pack"]["archived_at"] is not None
    assert products["old-pack"]["published"] is False
    assert products["old-pack-2"]["archived_at"] is None
    movements = await StockMovement.find_all().to_list()
    assert [(m.before, m.after, m.reason) for m in movements] == [(10, 4, "import")]


async def test_created_products_are_counted_in_the_storefront_lists(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await shop_categories()
    _, token = await token_for(app)
    data = csv_file(
        "runner,Runner,,Fleet,100,0,5,footwear,footwear-running,true,false",
        "walker,Walker,,Stride,100,0,0,footwear,,true,false",
        "draft-pack,Draft Pack,,Fleet,100,0,3,bags,bags-backpacks,false,false",
        "tote,Tote,,Stride,100,0,0,bags,,true,false",
    )

    payload = await imported(client, data, token=token)

    assert payload["created"] == 4
    assert await storefront_counts(client) == (3, 1, 2)


async def test_updated_products_move_between_the_storefront_lists(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    categories = await shop_categories()
    for slug, category, stock in (
        ("runner", "running", 10),
        ("tote", "bags", 0),
        ("boot", "footwear", 4),
    ):
        await make_product(categories[category], slug=slug, stock=stock)
    _, token = await token_for(app)
    assert await storefront_counts(client) == (3, 2, 1)
    steps: list[tuple[list[dict[str, Any]], tuple[int, int, int]]] = [
        ([{"slug": "runner", "published": False}], (2, 1, 1)),
        # Published again and out of stock in one row: both moves are counted, once each.
        ([{"slug": "runner", "published": True, "stock": 0}], (3, 1, 2)),
        (
            [
                {"slug": "boot", "brand": "Zenith"},
                {
                    "slug": "tote",
                    "category_slug": "footwear",
                    "subcategory_slug": "footwear-running",
                },
            ],
            (3, 1, 2),
        ),
        ([{"slug": "boot", "stock": 0}], (3, 0, 3)),
        (
            [
                {"slug": "boot", "stock": 5},
                {"slug": "runner", "stock": 2, "category_slug": "bags", "brand": "Fleet"},
                {"slug": "tote", "published": False, "stock": 1},
            ],
            (2, 2, 0),
        ),
    ]
    for lines, counts in steps:
        payload = await imported(client, json_lines(*lines), token=token)
        assert (payload["updated"], payload["failed"]) == (len(lines), 0), payload
        assert await storefront_counts(client) == counts, lines


async def test_bad_rows_fail_with_their_lines_and_codes_while_good_rows_apply(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    categories = await shop_categories()
    kept = await make_product(categories["footwear"], slug="kept", name="Kept", stock=3)
    before_kept = (await products_by_slug())["kept"]
    _, token = await token_for(app)
    data = csv_file(
        'good-one,Good One,"<p>Light</p>\n<p>Fast</p>",Fleet,10.00,0,1,footwear,,true,false',  # 2-3
        "negative,Negative Price,,,-1.00,0,1,footwear,,false,false",  # 4
        "too-much,Too Much Off,,,10.00,95,1,footwear,,false,false",  # 5
        "lost,Lost Category,,,10.00,0,1,no-such-category,,false,false",  # 6
        "mismatch,Mismatched,,,10.00,0,1,footwear,bags-backpacks,false,false",  # 7
        "short,A,,,10.00,0,1,footwear,,false,false",  # 8
        'broken,"Broken"quote,,,10.00,0,1,footwear,,false,false',  # 9
        "too,few,columns",  # 10
        "good-one,Good One Again,,,11.00,0,1,footwear,,false,false",  # 11
        "kept,Kept,,,10.00,0,-3,footwear,,false,false",  # 12
        "Bad Slug,Bad Slug,,,10.00,0,1,footwear,,false,false",  # 13
        "cheap,Cheap,,,0.001,0,1,footwear,,false,false",  # 14
        "sub-as-top,Sub As Top,,,1.00,0,1,footwear-running,,false,false",  # 15
        "good-two,Good Two,,,20,5,2,bags,bags-backpacks,false,false",  # 16
    )

    payload = await imported(client, data, token=token)

    assert failures(payload) == [
        (4, "negative", "INVALID_PRICE", "price"),
        (5, "too-much", "INVALID_DISCOUNT", "discount_percent"),
        (6, "lost", "CATEGORY_NOT_FOUND", "category_slug"),
        (7, "mismatch", "SUBCATEGORY_MISMATCH", "subcategory_slug"),
        (8, "short", "INVALID_NAME", "name"),
        (9, None, "INVALID_ROW", None),
        (10, "too", "INVALID_ROW", None),
        (11, "good-one", "SLUG_TAKEN", "slug"),
        (12, "kept", "INVALID_STOCK", "stock"),
        (13, "Bad Slug", "INVALID_SLUG", "slug"),
        (14, "cheap", "INVALID_PRICE", "price"),
        (15, "sub-as-top", "NOT_A_TOP_LEVEL_CATEGORY", "category_slug"),
    ]
    assert (payload["created"], payload["updated"], payload["failed"]) == (2, 0, 12)
    assert payload["errors"] == []
    products = await products_by_slug()
    assert sorted(products) == ["good-one", "good-two", "kept"]
    assert products["good-one"]["description"] == "<p>Light</p>\n<p>Fast</p>"
    assert products["kept"] == before_kept
    assert kept.id == before_kept["_id"]
    assert await StockMovement.find_all().count() == 0


async def test_a_row_cannot_publish_an_archived_product(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    footwear = await make_category("Footwear", slug="footwear")
    await make_product(footwear, slug="gone", published=False, archived_at=datetime.now(UTC))
    before = await database_state()
    _, token = await token_for(app)
    data = b'{"slug": "gone", "published": true}\n{"slug": "gone-too", "name": "Gone Too", "price": 1, "category_slug": "footwear", "published": true, "archived": true}\n'

    payload = await imported(client, data, token=token)

    assert failures(payload) == [
        (1, "gone", "PRODUCT_ARCHIVED", "published"),
        (2, "gone-too", "PRODUCT_ARCHIVED", "published"),
    ]
    assert await database_state() == before


async def test_a_row_restoring_an_archived_product_cannot_publish_it_at_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    footwear = await make_category("Footwear", slug="footwear")
    await make_product(footwear, slug="gone", published=False, archived_at=datetime.now(UTC))
    await make_product(footwear, slug="also-gone", published=False, archived_at=datetime.now(UTC))
    before = await database_state()
    _, token = await token_for(app)
    # A blank archived cell means false (restore), and false spelled out too.
    data = b"slug,published,archived\ngone,true,\nalso-gone,true,false\n"

    payload = await imported(client, data, token=token)

    assert failures(payload) == [
        (2, "gone", "PRODUCT_ARCHIVED", "published"),
        (3, "also-gone", "PRODUCT_ARCHIVED", "published"),
    ]
    assert await database_state() == before


async def test_malformed_json_lines_fail_on_their_own(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_category("Footwear", slug="footwear")
    _, token = await token_for(app)
    data = b"\n".join(
        [
            b'{"slug": "one", "name": "One", "price": "1.00", "category_slug": "footwear"}',
            b'{"slug": "two", "name": "Two", ',
            b"",
            b'["not", "an", "object"]',
            b'{"slug": "four", "name": "Four", "price": 1, "category_slug": "footwear", "colour": "red"}',
            b'{"slug": "five", "name": "Five", "price": NaN, "category_slug": "footwear"}',
            b'{"slug": "six", "name": 6, "price": 1, "category_slug": "footwear"}',
            b'{"slug": "seven", "name": "Seven", "price": 1, "category_slug": "footwear", "stock": "many"}',
            b'{"slug": "eight", "name": "Eight", "price": 1, "category_slug": "footwear", "currency": "USD"}',
        ]
    )

    payload = await imported(client, data, token=token, filename="products.jsonl")

    assert failures(payload) == [
        (2, None, "INVALID_ROW", None),
        (4, None, "INVALID_ROW", None),
        (5, "four", "INVALID_ROW", "colour"),
        (6, None, "INVALID_ROW", None),
        (7, "six", "INVALID_ROW", "name"),
        (8, "seven", "INVALID_STOCK", "stock"),
        (9, "eight", "INVALID_PRICE", "currency"),
    ]
    assert (payload["created"], payload["failed"]) == (1, 7)
    assert sorted(await products_by_slug()) == ["one"]


async def test_a_dry_run_checks_every_row_and_writes_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    categories = await shop_categories()
    await make_product(categories["running"], slug="trail-runner", stock=10)
    before = await database_state()
    _, token = await token_for(app)
    data = csv_file(
        "trail-runner,Trail Runner,,,120.50,10,25,footwear,footwear-running,true,false",
        "city-walker,City Walker,,,899,0,7,footwear,,false,false",
        "bad-walker,Bad Walker,,,899,91,7,footwear,,false,false",
    )

    payload = await imported(client, data, token=token, dry_run=True)

    assert (payload["created"], payload["updated"], payload["failed"]) == (1, 1, 1)
    assert failures(payload) == [(4, "bad-walker", "INVALID_DISCOUNT", "discount_percent")]
    assert await database_state() == before


async def test_files_over_the_limits_or_unreadable_are_refused_whole(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_category("Footwear", slug="footwear")
    _, token = await token_for(app)
    monkeypatch.setattr(settings, "import_max_rows", 3)
    monkeypatch.setattr(settings, "import_max_bytes", 1024)
    row = "p{n},Product {n},,,1.00,0,1,footwear,,false,false"
    cases = [
        (csv_file(*(row.format(n=n) for n in range(4))), "TOO_MANY_IMPORT_ROWS"),
        (csv_file(row.format(n=1), "x" * 1024), "IMPORT_FILE_TOO_LARGE"),
        (b"slug,name,prcie\nx,X,1\n", "INVALID_IMPORT_FILE"),
        (b"name,price\nX,1\n", "INVALID_IMPORT_FILE"),
        (b"slug,slug\nx,x\n", "INVALID_IMPORT_FILE"),
        (HEADER.encode() + b"\n\xff\xfe\n", "INVALID_IMPORT_FILE"),
        (b"", "INVALID_IMPORT_FILE"),
    ]

    for data, code in cases:
        payload = await imported(client, data, token=token)
        assert payload["errors"][0]["code"] == code, data[:40]
        assert [error["field"] for error in payload["errors"]] == ["file"]
        assert (payload["created"], payload["updated"], payload["failed"]) == (0, 0, 0)
        assert payload["rows"] == []

    assert await Product.find_all().count() == 0
    # Three rows are within the limit.
    payload = await imported(client, csv_file(*(row.format(n=n) for n in range(3))), token=token)
    assert payload["created"] == 3


async def test_ten_thousand_rows_import_in_batches(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    categories = await shop_categories()
    _, token = await token_for(app)
    places = ["footwear,footwear-running", "footwear,", "bags,bags-backpacks", "bags,"]
    rows = [
        f"product-{n},Product {n},<p>Number {n}</p>,Brand {n % 40},{n % 5000}.99,{n % 91},"
        f"{n % 300},{places[n % 4]},{str(n % 3 != 0).lower()},false"
        for n in range(10_000)
    ]

    payload = await imported(client, csv_file(*rows), token=token)

    assert payload == {"created": 10_000, "updated": 0, "failed": 0, "rows": [], "errors": []}
    assert await Product.find_all().count() == 10_000
    last = await Product.find_one(Product.slug == "product-9999")
    assert last is not None
    assert (last.price, last.discount_percent, last.stock, last.published) == (
        499_999,
        80,
        99,
        False,
    )
    assert (last.category_id, last.subcategory_id) == (categories["bags"].id, None)


# --- exporting and the round trip ---------------------------------------------------------------


async def test_an_export_imported_into_an_empty_catalog_exports_identically(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await load_demo_catalog(300, public_url=settings.public_url, seed=7, currency="INR")
    archived = await Product.find_one(sort=[("_id", -1)])
    assert archived is not None
    await archived.set({"archived_at": datetime.now(UTC), "published": False})
    originals = {slug: imported_fields(p) for slug, p in (await products_by_slug()).items()}
    _, token = await token_for(app)

    exported = await export(client, token)
    exported_lines = await export(client, token, "jsonl")

    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).date().isoformat()
    assert exported.headers["content-disposition"] == f"attachment; filename=products-{today}.csv"
    assert exported.text.split("\r\n", 1)[0] == HEADER
    assert exported.text.count("\n") >= 301
    assert len(exported_lines.text.splitlines()) == 300
    assert json.loads(exported_lines.text.splitlines()[-1])["archived"] is True

    await Product.get_pymongo_collection().delete_many({})
    payload = await imported(client, exported.content, token=token)

    assert payload == {"created": 300, "updated": 0, "failed": 0, "rows": [], "errors": []}
    assert (await export(client, token)).content == exported.content
    assert (await export(client, token, "jsonl")).content == exported_lines.content
    after = {slug: imported_fields(p) for slug, p in (await products_by_slug()).items()}
    assert after.keys() == originals.keys()
    for slug, fields in after.items():
        archived_at = fields.pop("archived_at")
        assert (archived_at is None) == (originals[slug].pop("archived_at") is None)
        assert fields == originals[slug]

    # The same file again matches every product and changes none of them.
    state = await database_state()
    again = await imported(client, exported_lines.content, token=token)
    assert (again["created"], again["updated"], again["failed"]) == (0, 300, 0)
    assert await database_state() == state


async def test_the_export_needs_an_admin_token(app: Starlette, client: httpx.AsyncClient) -> None:
    _, user_token = await token_for(app, Role.USER)
    _, admin_token = await token_for(app)

    anonymous = await export(client, None)
    user = await export(client, user_token)
    forged = await export(client, "not-a-token")
    unknown_format = await export(client, admin_token, "xml")

    assert anonymous.status_code == 401
    assert error_codes(anonymous.json()) == ["UNAUTHENTICATED"]
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert user.status_code == 403
    assert error_codes(user.json()) == ["FORBIDDEN"]
    assert forged.status_code == 401
    assert error_codes(forged.json()) == ["UNAUTHENTICATED"]
    assert unknown_format.status_code == 400
    assert error_codes(unknown_format.json()) == ["BAD_USER_INPUT"]


async def test_only_admins_import_or_see_the_export_url(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_category("Footwear", slug="footwear")
    _, user_token = await token_for(app, Role.USER)
    _, admin_token = await token_for(app)
    data = csv_file("new-shoe,New Shoe,,,1.00,0,1,footwear,,false,false")

    for token, code in ((user_token, "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        body = await import_file(client, data, token=token)
        assert error_codes(body) == [code]
        assert body["data"] is None
        url = await graphql(client, EXPORT_URL, token=token)
        assert error_codes(url) == [code]

    assert await Product.find_all().count() == 0
    url = await graphql(client, EXPORT_URL, token=admin_token)
    assert url["data"] == {"productExportUrl": f"{settings.public_url}/admin/export?format=csv"}


async def test_concurrent_imports_of_the_same_new_slugs_create_each_product_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_category("Footwear", slug="footwear")
    _, token = await token_for(app)
    data = csv_file(*(f"shoe-{n},Shoe {n},,,1.00,0,{n},footwear,,false,false" for n in range(50)))

    payloads = await asyncio.gather(*(imported(client, data, token=token) for _ in range(4)))

    assert sum(p["created"] for p in payloads) == 50
    assert sum(p["updated"] for p in payloads) == 150
    assert all(p["failed"] == 0 for p in payloads)
    assert await Product.find_all().count() == 50
    assert await StockMovement.find_all().count() == 0

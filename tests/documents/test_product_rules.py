"""The product change plan and the state transitions table: one set of rules for every write."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from bson import ObjectId

from documents import products
from documents.catalog import VISIBLE_PRODUCTS, Product
from documents.catalog_rules import CatalogError, CatalogErrorCode
from documents.products import (
    PRODUCT_TRANSITIONS,
    ProductAction,
    ProductFields,
    ProductState,
    next_state,
    plan_product_change,
    product_state,
)

# Documents need Beanie initialised, even to be built in memory.
pytestmark = pytest.mark.usefixtures("app")

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SHOES, RUNNING, BAGS = ObjectId(), ObjectId(), ObjectId()


def product(**fields: object) -> Product:
    values: dict[str, object] = {
        "id": ObjectId(),
        "name": "Runner",
        "slug": "runner",
        "price": 10_000,
        "currency": "INR",
        "discount_percent": 10,
        "category_id": SHOES,
        "subcategory_id": RUNNING,
        "published": True,
        **fields,
    }
    return Product.model_validate(values)


def plan(before: Product | None, **fields: object) -> dict[str, object]:
    return plan_product_change(before, ProductFields(**fields), currency="INR", now=NOW).values


def refusal(before: Product | None, **fields: object) -> tuple[CatalogErrorCode, str | None]:
    with pytest.raises(CatalogError) as refused:
        plan(before, **fields)
    return CatalogErrorCode(refused.value.code), refused.value.field


def test_a_new_category_drops_the_old_subcategory_unless_one_is_given() -> None:
    moved = plan_product_change(product(), ProductFields(category_id=BAGS), currency="INR", now=NOW)
    assert moved.values["category_id"] == BAGS
    assert moved.values["subcategory_id"] is None
    assert moved.placement == (BAGS, None)

    other_sub = ObjectId()
    both = plan(product(), category_id=BAGS, subcategory_id=other_sub)
    assert (both["category_id"], both["subcategory_id"]) == (BAGS, other_sub)
    # The same category again is no move: the subcategory stays, nothing to write.
    assert plan(product(), category_id=SHOES) == {}


def test_price_and_discount_changes_recompute_the_final_price() -> None:
    assert plan(product(), price=Decimal("200.00"))["final_price"] == 18_000
    assert plan(product(), discount_percent=25)["final_price"] == 7_500
    assert plan(product(), name="Runner") == {}  # nothing differs: nothing to write


def test_a_new_product_needs_a_name_a_price_and_a_category() -> None:
    complete = {"name": "Runner", "price": Decimal("100"), "category_id": SHOES}
    created = plan(None, **complete)
    assert (created["published"], created["archived_at"], created["final_price"]) == (
        False,
        None,
        10_000,
    )
    assert refusal(None, **{**complete, "name": ""}) == (
        CatalogErrorCode.INVALID_NAME,
        "name",
    )
    without_price = {k: v for k, v in complete.items() if k != "price"}
    assert refusal(None, **without_price) == (CatalogErrorCode.INVALID_PRICE, "price")
    without_category = {k: v for k, v in complete.items() if k != "category_id"}
    assert refusal(None, **without_category) == (CatalogErrorCode.CATEGORY_NOT_FOUND, "categoryId")


def test_stock_changes_only_on_create() -> None:
    assert plan(None, name="Runner", price=Decimal("1"), category_id=SHOES, stock=4)["stock"] == 4
    assert refusal(product(), stock=4) == (CatalogErrorCode.INVALID_STOCK, "stock")


def test_an_archived_product_cannot_be_published_and_archiving_unpublishes() -> None:
    archived = product(published=False, archived_at=NOW)
    assert refusal(archived, published=True) == (CatalogErrorCode.PRODUCT_ARCHIVED, "published")
    assert refusal(product(), archived=True, published=True) == (
        CatalogErrorCode.PRODUCT_ARCHIVED,
        "published",
    )
    assert plan(product(), archived=True) == {
        "published": False,
        "archived_at": NOW,
        "updated_at": NOW,
    }
    # A restore brings it back unpublished; publishing is a change of its own.
    assert refusal(archived, archived=False, published=True) == (
        CatalogErrorCode.PRODUCT_ARCHIVED,
        "published",
    )
    assert plan(archived, archived=False) == {"archived_at": None, "updated_at": NOW}
    assert plan(product(published=False), published=True)["published"] is True


def test_a_transitions_table_with_a_gap_is_refused_at_startup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    products._check_transitions_table()  # the table as shipped is complete
    gap = dict(PRODUCT_TRANSITIONS)
    del gap[(ProductState.DRAFT, ProductAction.ARCHIVE)]
    monkeypatch.setattr(products, "PRODUCT_TRANSITIONS", gap)

    with pytest.raises(RuntimeError, match="DRAFT"):
        products._check_transitions_table()
    assert next_state(ProductState.ARCHIVED, ProductAction.RESTORE) is ProductState.DRAFT


@pytest.mark.parametrize(
    ("fields", "state", "visible"),
    [
        ({"published": True}, ProductState.PUBLISHED, True),
        ({"published": False}, ProductState.DRAFT, False),
        ({"published": False, "archived_at": NOW}, ProductState.ARCHIVED, False),
    ],
)
def test_visibility_is_one_definition(
    fields: dict[str, object], state: ProductState, visible: bool
) -> None:
    found = product(**fields)
    matches_filter = all(getattr(found, name) == value for name, value in VISIBLE_PRODUCTS.items())

    assert product_state(found) is state
    assert found.is_visible is visible is matches_filter

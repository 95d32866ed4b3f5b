"""Types of catalog administration: the error type of its mutations, stock movements."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from documents import catalog as documents
from documents.catalog_rules import (
    MAX_ALT_LENGTH,
    MAX_BRAND_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    CatalogErrorCode,
)
from documents.money import MAX_DISCOUNT_PERCENT
from schema.enums import IMAGE_UPLOAD_CODES, described_enum
from schema.pagination import CountedConnection

described_enum(
    CatalogErrorCode,
    "Why a catalog change was refused.",
    {
        "INVALID_NAME": "The name is empty, too long or not plain text.",
        "INVALID_SLUG": (
            "The slug is missing, or not lower-case letters, digits and single hyphens."
        ),
        "SLUG_TAKEN": "Another product, or another category, has this slug.",
        "INVALID_PRICE": (
            "The price is negative, not a decimal number, or (in an import) in another currency."
        ),
        "INVALID_DISCOUNT": (
            f"The discount is not a whole number of percent from 0 to {MAX_DISCOUNT_PERCENT}."
        ),
        "INVALID_STOCK": (
            "The stock would be negative or too large, a change is 0, or `updateProduct` was "
            "given stock (use `adjustStock` or `setStock`)."
        ),
        "INVALID_BRAND": f"The brand is longer than {MAX_BRAND_LENGTH} characters.",
        "DESCRIPTION_TOO_LONG": (
            f"The description is longer than {MAX_DESCRIPTION_LENGTH} characters."
        ),
        "CATEGORY_NOT_FOUND": (
            "No category or subcategory has that ID, or it was deleted or moved meanwhile."
        ),
        "SUBCATEGORY_MISMATCH": "The subcategory belongs to another category.",
        "NOT_A_TOP_LEVEL_CATEGORY": "The category given must be a top-level one.",
        "CATEGORY_NOT_EMPTY": (
            "The category still has products or subcategories: say where to move them."
        ),
        "INVALID_MOVE": (
            "Products or subcategories cannot move to the category being deleted, nor to one "
            "of its subcategories."
        ),
        "PRODUCT_NOT_FOUND": "No product has that ID.",
        "PRODUCT_ARCHIVED": "An archived product cannot be published: restore it first.",
        "PRODUCT_IN_ORDERS": "Orders refer to the product, so it cannot be deleted: archive it.",
        "INSUFFICIENT_STOCK": "The change would take the stock below zero.",
        "INVALID_REASON": "The reason for a stock change is empty or too long.",
        "IMAGE_NOT_FOUND": "The product has no image with that ID.",
        "INVALID_IMAGE_ORDER": (
            "The new order must name each of the product's images exactly once (they may have "
            "changed meanwhile: reload them)."
        ),
        "INVALID_ALT_TEXT": f"The alt text is longer than {MAX_ALT_LENGTH} characters.",
        "TOO_MANY_IMAGES": "The product has as many images as it may.",
        **IMAGE_UPLOAD_CODES,
        "INVALID_ROW": "An imported row has a value of the wrong kind; see the row's `field`.",
        "INVALID_IMPORT_FILE": "The file is neither CSV nor JSON Lines that can be read.",
        "IMPORT_FILE_TOO_LARGE": "The import file has more bytes than allowed.",
        "TOO_MANY_IMPORT_ROWS": "The import file has more rows than allowed at a time.",
    },
)


@strawberry.type(
    description="A problem with the input of a catalog mutation, fixable by the admin."
)
class CatalogError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: CatalogErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="One change of a product's stock.")
class StockMovement(relay.Node):
    id: relay.NodeID[str]
    delta: int = strawberry.field(description="Units added (positive) or removed (negative).")
    before: int = strawberry.field(description="Stock before the change.")
    after: int = strawberry.field(description="Stock after the change.")
    reason: str = strawberry.field(description="Why, as given by whoever changed it.")
    actor_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the admin who changed it; null for system changes (orders)."
    )
    created_at: datetime = strawberry.field(description="When (UTC).")

    @classmethod
    def from_document(cls, movement: documents.StockMovement) -> StockMovement:
        actor = movement.actor_id
        return cls(
            id=str(movement.id),
            delta=movement.delta,
            before=movement.before,
            after=movement.after,
            reason=movement.reason,
            actor_id=strawberry.ID(str(relay.GlobalID("User", str(actor)))) if actor else None,
            created_at=movement.created_at,
        )


@strawberry.type(name="StockMovementConnection", description="A page of stock movements.")
class StockMovementConnection(CountedConnection[StockMovement]):
    pass

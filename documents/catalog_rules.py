"""Rules for changing the catalog: error codes, slugs, field limits, sanitized descriptions."""

from __future__ import annotations

import enum
import html
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import nh3
from beanie import Document
from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.errors import DomainError
from documents.money import MAX_DISCOUNT_PERCENT, MAX_MINOR_UNITS
from documents.stock import MAX_STOCK
from documents.text import is_visible_text

T = TypeVar("T")
MIN_NAME_LENGTH, MAX_NAME_LENGTH = 2, 200
MAX_CATEGORY_NAME_LENGTH = 120
MAX_DESCRIPTION_LENGTH = 20_000
MAX_BRAND_LENGTH = 100
MAX_SLUG_LENGTH = 140
MAX_ALT_LENGTH = 300
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# The rich text a description may hold; everything else is removed, attributes included.
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "s",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "a",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


class CatalogErrorCode(enum.StrEnum):
    """Why a catalog change was refused; clients branch on these."""

    INVALID_NAME = "INVALID_NAME"
    INVALID_SLUG = "INVALID_SLUG"
    SLUG_TAKEN = "SLUG_TAKEN"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_DISCOUNT = "INVALID_DISCOUNT"
    INVALID_STOCK = "INVALID_STOCK"
    INVALID_BRAND = "INVALID_BRAND"
    DESCRIPTION_TOO_LONG = "DESCRIPTION_TOO_LONG"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"
    SUBCATEGORY_MISMATCH = "SUBCATEGORY_MISMATCH"
    NOT_A_TOP_LEVEL_CATEGORY = "NOT_A_TOP_LEVEL_CATEGORY"
    CATEGORY_NOT_EMPTY = "CATEGORY_NOT_EMPTY"
    INVALID_MOVE = "INVALID_MOVE"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    PRODUCT_ARCHIVED = "PRODUCT_ARCHIVED"
    PRODUCT_IN_ORDERS = "PRODUCT_IN_ORDERS"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    INVALID_REASON = "INVALID_REASON"
    IMAGE_NOT_FOUND = "IMAGE_NOT_FOUND"
    INVALID_IMAGE_ORDER = "INVALID_IMAGE_ORDER"
    INVALID_ALT_TEXT = "INVALID_ALT_TEXT"
    TOO_MANY_IMAGES = "TOO_MANY_IMAGES"
    UNSUPPORTED_IMAGE_TYPE = "UNSUPPORTED_IMAGE_TYPE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    INVALID_IMAGE = "INVALID_IMAGE"
    IMAGE_STORE_UNAVAILABLE = "IMAGE_STORE_UNAVAILABLE"
    INVALID_ROW = "INVALID_ROW"
    INVALID_IMPORT_FILE = "INVALID_IMPORT_FILE"
    IMPORT_FILE_TOO_LARGE = "IMPORT_FILE_TOO_LARGE"
    TOO_MANY_IMPORT_ROWS = "TOO_MANY_IMPORT_ROWS"


class CatalogError(DomainError):
    """A refused catalog change; reported in the mutation payload's `errors`."""

    def __init__(self, code: CatalogErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field)


def slugify(text: str) -> str:
    """A URL-safe slug: ASCII letters and digits joined by hyphens ("Café Crème" -> "cafe-creme")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or "item"


async def unique_slug(
    document: type[Document],
    base: str,
    *,
    excluding: ObjectId | None = None,
    session: AsyncClientSession | None = None,
) -> str:
    """`base`, or `base-2`, `base-3` ..., whichever no other document of the kind has."""
    query: dict[str, Any] = {"slug": {"$regex": f"^{re.escape(base)}(-[0-9]+)?$"}}
    if excluding is not None:
        query["_id"] = {"$ne": excluding}
    rows = document.get_pymongo_collection().find(query, {"slug": 1}, session=session)
    taken = {row["slug"] async for row in rows}
    number = 1
    slug = base
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


async def retry_on_slug_race(
    create: Callable[[], Awaitable[T]], taken: Callable[[], CatalogError]
) -> T:
    """Run `create`, a unit of work that makes a slug from a name, once more if another document
    took that slug meanwhile (the second run picks the next free one); `taken()` after that."""
    try:
        return await create()
    except DuplicateKeyError:
        pass
    try:
        return await create()
    except DuplicateKeyError:
        raise taken() from None


def check_slug(slug: str, *, field: str = "slug") -> str:
    if not (1 <= len(slug) <= MAX_SLUG_LENGTH and _SLUG.fullmatch(slug)):
        raise CatalogError(
            CatalogErrorCode.INVALID_SLUG,
            "Use lower-case letters, digits and single hyphens",
            field=field,
        )
    return slug


def check_name(name: str, *, field: str = "name", maximum: int = MAX_NAME_LENGTH) -> str:
    cleaned = " ".join(name.split())
    if not (MIN_NAME_LENGTH <= len(cleaned) <= maximum and is_visible_text(cleaned)):
        raise CatalogError(
            CatalogErrorCode.INVALID_NAME,
            f"Use {MIN_NAME_LENGTH} to {maximum} visible characters",
            field=field,
        )
    return cleaned


def check_brand(brand: str, *, field: str = "brand") -> str:
    cleaned = " ".join(brand.split())
    if len(cleaned) > MAX_BRAND_LENGTH or not is_visible_text(cleaned):
        raise CatalogError(
            CatalogErrorCode.INVALID_BRAND,
            f"Use at most {MAX_BRAND_LENGTH} characters",
            field=field,
        )
    return cleaned


def check_price(price_minor: int, *, field: str = "price") -> int:
    if not 0 <= price_minor <= MAX_MINOR_UNITS:
        raise CatalogError(
            CatalogErrorCode.INVALID_PRICE, "The price must be 0 or more", field=field
        )
    return price_minor


def check_discount(percent: int, *, field: str = "discountPercent") -> int:
    if not 0 <= percent <= MAX_DISCOUNT_PERCENT:
        raise CatalogError(
            CatalogErrorCode.INVALID_DISCOUNT,
            f"The discount must be 0 to {MAX_DISCOUNT_PERCENT} percent",
            field=field,
        )
    return percent


def check_stock(stock: int, *, field: str = "stock") -> int:
    if not 0 <= stock <= MAX_STOCK:
        raise CatalogError(CatalogErrorCode.INVALID_STOCK, "Stock must be 0 or more", field=field)
    return stock


def sanitize_description(html: str, *, field: str = "description") -> str:
    """Allow-listed rich text; scripts, styles, event handlers and unknown tags are removed."""
    if len(html) > MAX_DESCRIPTION_LENGTH:
        raise CatalogError(
            CatalogErrorCode.DESCRIPTION_TOO_LONG,
            f"Use at most {MAX_DESCRIPTION_LENGTH} characters",
            field=field,
        )
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


_TAG = re.compile(r"<[^>]*>")


def description_text(description: str) -> str:
    """A sanitized description's text without its markup (tags, entities), as search indexes
    and highlights it. Tags part words (`<p>one</p><p>two</p>` is "one two"); a sanitized
    description holds no script or style text, nor a `>` inside a tag."""
    return " ".join(html.unescape(_TAG.sub(" ", description)).split())


def check_alt_text(alt: str, *, field: str = "alt") -> str:
    cleaned = " ".join(alt.split())
    if len(cleaned) > MAX_ALT_LENGTH or not is_visible_text(cleaned):
        raise CatalogError(
            CatalogErrorCode.INVALID_ALT_TEXT,
            f"Use at most {MAX_ALT_LENGTH} characters",
            field=field,
        )
    return cleaned

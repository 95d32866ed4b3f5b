"""The import/export file formats: CSV and JSON Lines rows, and the values in them."""

from __future__ import annotations

import csv
import enum
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from bson import ObjectId

from documents.catalog import Product
from documents.catalog_rules import CatalogError, CatalogErrorCode, check_slug
from documents.products import ProductWrite
from documents.stock import StockCount

COLUMNS = (
    "slug",
    "name",
    "description",
    "brand",
    "price",
    "discount_percent",
    "stock",
    "category_slug",
    "subcategory_slug",
    "published",
    "archived",
)
# Accepted on import when it names the shop currency; prices are always in it.
CURRENCY_COLUMN = "currency"
EXPORT_PATH = "/admin/export"
BATCH_SIZE = 1000
MAX_REPORTED_ROWS = 1000
STOCK_REASON = "import"
EXPORT_CHUNK_ROWS = 500
WRITE_ATTEMPTS = 3
DUPLICATE_KEY = 11000
# Errors of the shared checks name GraphQL input fields; an import names its columns.
_COLUMN_OF_FIELD = {
    "discountPercent": "discount_percent",
    "categoryId": "category_slug",
    "subcategoryId": "subcategory_slug",
}
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})
_WHOLE_NUMBER = re.compile(r"^[+-]?[0-9]{1,18}$")
_JSONL_TYPES = ("jsonl", "ndjson", "json-lines", "jsonlines")


class TransferFormat(enum.StrEnum):
    """A file format of product import and export."""

    CSV = "csv"
    JSONL = "jsonl"


class RowOutcome(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class RowResult:
    """What became of one row; `line` is where it starts in the file (the CSV header is line 1)."""

    line: int
    slug: str | None
    outcome: RowOutcome
    code: CatalogErrorCode | None = None
    field: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    failed: int
    failures: list[RowResult]  # in line order, at most MAX_REPORTED_ROWS


@dataclass(frozen=True)
class Row:
    line: int
    slug: str
    values: dict[str, Any]  # by column; None for a blank cell or a JSON null


@dataclass(frozen=True)
class RowWrite:
    outcome: RowOutcome
    product: ProductWrite | None  # None: nothing differs
    stock: StockCount | None = None
    # The category and subcategory the write puts the product in, when it sets them.
    placement: tuple[ObjectId, ObjectId | None] | None = None


def failed_row(line: int, slug: str | None, error: CatalogError) -> RowResult:
    column = _COLUMN_OF_FIELD.get(error.field or "", error.field)
    code = CatalogErrorCode(error.code)
    return RowResult(line, slug, RowOutcome.FAILED, code, column, error.message)


def refuse(code: CatalogErrorCode, message: str, column: str | None = None) -> NoReturn:
    raise CatalogError(code, message, field=column)


def _file_error(message: str) -> CatalogError:
    return CatalogError(CatalogErrorCode.INVALID_IMPORT_FILE, message, field="file")


def _invalid_row(line: int, slug: str | None, message: str, column: str | None = None) -> RowResult:
    return RowResult(line, slug, RowOutcome.FAILED, CatalogErrorCode.INVALID_ROW, column, message)


# --- reading the file ---------------------------------------------------------------------------


def detect_format(data: bytes, filename: str | None, content_type: str | None) -> TransferFormat:
    """JSON Lines when the first non-blank byte opens an object or the name or type says so."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return TransferFormat.JSONL
    name, kind = (filename or "").lower(), (content_type or "").lower()
    if name.endswith((".jsonl", ".ndjson")) or any(t in kind for t in _JSONL_TYPES):
        return TransferFormat.JSONL
    return TransferFormat.CSV


def _csv_rows(text: str) -> Iterator[Row | RowResult]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise _file_error("The file is empty") from None
    except csv.Error as error:
        raise _file_error(f"Line 1: {error}") from None
    unknown = [name for name in header if name not in COLUMNS and name != CURRENCY_COLUMN]
    if unknown or len(set(header)) != len(header) or "slug" not in header:
        raise _file_error(
            f"The header must name a slug column and others of {', '.join(COLUMNS)}, once each"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield _invalid_row(line, None, f"Not valid CSV: {error}")
            continue
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, and the empty rows spreadsheets leave at the end
        if len(cells) != len(header):
            at = header.index("slug")
            slug = cells[at].strip() or None if at < len(cells) else None
            yield _invalid_row(line, slug, f"Expected {len(header)} values, found {len(cells)}")
            continue
        yield _keyed(
            line,
            {
                n: unescape_formula(c) if c.strip() else None
                for n, c in zip(header, cells, strict=True)
            },
        )


def _refuse_json_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


def _jsonl_rows(text: str) -> Iterator[Row | RowResult]:
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_json_constant)
        except (ValueError, RecursionError) as error:
            yield _invalid_row(line, None, f"Not valid JSON: {error}")
            continue
        if not isinstance(value, dict):
            yield _invalid_row(line, None, "Each line must be one JSON object")
            continue
        unknown = sorted(key for key in value if key not in COLUMNS and key != CURRENCY_COLUMN)
        if unknown:
            slug = value.get("slug") if isinstance(value.get("slug"), str) else None
            yield _invalid_row(line, slug, f"Unknown column {unknown[0]!r}", unknown[0])
            continue
        # A blank string means what a blank CSV cell means.
        yield _keyed(line, {k: None if v == "" else v for k, v in value.items()})


def _keyed(line: int, values: dict[str, Any]) -> Row | RowResult:
    raw = values.get("slug")
    slug = raw.strip() if isinstance(raw, str) else ""
    try:
        if not slug:
            refuse(CatalogErrorCode.INVALID_SLUG, "slug is required", "slug")
        return Row(line, check_slug(slug), values)
    except CatalogError as error:
        return failed_row(line, slug or None, error)


def read_rows(
    data: bytes, fmt: TransferFormat, max_rows: int, failures: list[RowResult]
) -> list[Row]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _file_error(f"The file is not UTF-8 text (byte {error.start + 1})") from None
    rows: list[Row] = []
    first_line_of: dict[str, int] = {}
    parsed = _csv_rows(text) if fmt is TransferFormat.CSV else _jsonl_rows(text)
    for count, item in enumerate(parsed, start=1):
        if count > max_rows:
            raise CatalogError(
                CatalogErrorCode.TOO_MANY_IMPORT_ROWS,
                f"Import at most {max_rows} rows at a time",
                field="file",
            )
        if isinstance(item, RowResult):
            failures.append(item)
        elif item.slug in first_line_of:
            message = f"Line {first_line_of[item.slug]} has this slug already"
            taken = CatalogError(CatalogErrorCode.SLUG_TAKEN, message, field="slug")
            failures.append(failed_row(item.line, item.slug, taken))
        else:
            first_line_of[item.slug] = item.line
            rows.append(item)
    return rows


# --- values of a row ----------------------------------------------------------------------------


def text_value(value: Any, column: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        refuse(CatalogErrorCode.INVALID_ROW, f"{column} must be text", column)
    return value


def _price(value: Any, column: str) -> Decimal:
    if value is None:
        refuse(CatalogErrorCode.INVALID_PRICE, "price is required", column)
    try:
        if isinstance(value, str):
            return Decimal(value.strip())
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return Decimal(value)
    except InvalidOperation:
        pass
    refuse(CatalogErrorCode.INVALID_PRICE, "price must be a decimal number", column)


def _whole_number(code: CatalogErrorCode) -> Any:
    def convert(value: Any, column: str) -> int:
        if value is None:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
            return int(value)
        refuse(code, f"{column} must be a whole number", column)

    return convert


def flag_value(value: Any, column: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    refuse(CatalogErrorCode.INVALID_ROW, f"{column} must be true or false", column)


CONVERTERS: dict[str, Callable[[Any, str], Any]] = {
    "name": text_value,
    "description": text_value,
    "brand": text_value,
    "price": _price,
    "discount_percent": _whole_number(CatalogErrorCode.INVALID_DISCOUNT),
    "stock": _whole_number(CatalogErrorCode.INVALID_STOCK),
    "published": flag_value,
    "archived": flag_value,
}


def stored_fields(document: Product) -> dict[str, Any]:
    return {"_id": document.id, **document.model_dump(exclude={"id", "revision_id"})}


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection). Exports put
# a quote before such cells, and imports take it off again, so the round trip stays exact.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(cell: str) -> str:
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


def unescape_formula(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_STARTS) else cell

"""Bulk import and export of products (CSV or JSON Lines)."""

from resolvers.catalog_admin.transfer.exporting import export_products, export_url
from resolvers.catalog_admin.transfer.formats import (
    EXPORT_PATH,
    MAX_REPORTED_ROWS,
    ImportResult,
    RowOutcome,
    RowResult,
    TransferFormat,
    detect_format,
)
from resolvers.catalog_admin.transfer.importing import import_products

__all__ = [
    "EXPORT_PATH",
    "MAX_REPORTED_ROWS",
    "ImportResult",
    "RowOutcome",
    "RowResult",
    "TransferFormat",
    "detect_format",
    "export_products",
    "export_url",
    "import_products",
]

"""Every Beanie document of the service, for `init_beanie` and for tests that clean up, and the
indexes Beanie cannot declare."""

from __future__ import annotations

from beanie import Document

from documents.accounts import ACCOUNT_DOCUMENTS
from documents.addresses import ADDRESS_DOCUMENTS
from documents.carts import CART_DOCUMENTS
from documents.catalog import CATALOG_DOCUMENTS
from documents.orders import ORDER_DOCUMENTS
from documents.outbox import OUTBOX_DOCUMENTS
from documents.reviews import REVIEW_DOCUMENTS, Review
from documents.reviews.model import SAME_FIELDS_INDEXES
from documents.settlement import SETTLEMENT_DOCUMENTS

ALL_DOCUMENTS: list[type[Document]] = [
    *CATALOG_DOCUMENTS,
    *ACCOUNT_DOCUMENTS,
    *ADDRESS_DOCUMENTS,
    *CART_DOCUMENTS,
    *ORDER_DOCUMENTS,
    *OUTBOX_DOCUMENTS,
    *SETTLEMENT_DOCUMENTS,
    *REVIEW_DOCUMENTS,
]


async def create_indexes() -> None:
    """Create the indexes `init_beanie` leaves out (it creates those of `Settings.indexes`)."""
    await Review.get_pymongo_collection().create_indexes(SAME_FIELDS_INDEXES)

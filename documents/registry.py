"""Every Beanie document of the service, for `init_beanie` and for tests that clean up."""

from __future__ import annotations

from beanie import Document

from documents.accounts import ACCOUNT_DOCUMENTS
from documents.addresses import ADDRESS_DOCUMENTS
from documents.carts import CART_DOCUMENTS
from documents.catalog import CATALOG_DOCUMENTS
from documents.orders import ORDER_DOCUMENTS
from documents.outbox import OUTBOX_DOCUMENTS
from documents.reviews import REVIEW_DOCUMENTS
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

"""Every Beanie document of the service, for `init_beanie` and for tests that clean up; the indexes
Beanie cannot declare; and the upgrades of documents stored by earlier versions."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from pydantic import Field

from documents.accounts import ACCOUNT_DOCUMENTS
from documents.addresses import ADDRESS_DOCUMENTS
from documents.cache_invalidations import CACHE_INVALIDATION_DOCUMENTS
from documents.carts import CART_DOCUMENTS
from documents.catalog import CATALOG_DOCUMENTS
from documents.catalog_counts import CATALOG_COUNT_DOCUMENTS, build_catalog_counts
from documents.common import utc_now
from documents.orders import ORDER_DOCUMENTS
from documents.outbox import OUTBOX_DOCUMENTS
from documents.products import unpublish_archived_products
from documents.reviews import REVIEW_DOCUMENTS, Review
from documents.reviews.legacy import upgrade_legacy_ratings
from documents.reviews.model import SAME_FIELDS_INDEXES
from documents.search_index import SEARCH_INDEX_DOCUMENTS
from documents.settlement import SETTLEMENT_DOCUMENTS


class AppliedUpgrade(Document):
    """An upgrade of stored documents that has run, so startup does not look for its work again."""

    id: str  # type: ignore[assignment]  # the upgrade's name
    applied_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "applied_upgrades"


ALL_DOCUMENTS: list[type[Document]] = [
    *CATALOG_DOCUMENTS,
    *CATALOG_COUNT_DOCUMENTS,
    *ACCOUNT_DOCUMENTS,
    *ADDRESS_DOCUMENTS,
    *CART_DOCUMENTS,
    *ORDER_DOCUMENTS,
    *OUTBOX_DOCUMENTS,
    *SETTLEMENT_DOCUMENTS,
    *REVIEW_DOCUMENTS,
    *CACHE_INVALIDATION_DOCUMENTS,
    *SEARCH_INDEX_DOCUMENTS,
    AppliedUpgrade,
]

# Each is idempotent: a process that dies before recording one runs it again. In this order:
# the list counts are built from products the upgrades before them have brought up to date.
_UPGRADES = {
    "rating_histograms": upgrade_legacy_ratings,
    "archived_products_unpublished": unpublish_archived_products,
    "catalog_counts": build_catalog_counts,
}


async def create_indexes() -> None:
    """Create the indexes `init_beanie` leaves out (it creates those of `Settings.indexes`)."""
    await Review.get_pymongo_collection().create_indexes(SAME_FIELDS_INDEXES)


async def upgrade_documents() -> None:
    """Bring documents stored by earlier versions to today's shape, each upgrade once."""
    done = {upgrade.id for upgrade in await AppliedUpgrade.find_all().to_list()}
    for name, upgrade in _UPGRADES.items():
        if name not in done:
            await upgrade()
            await AppliedUpgrade(id=name).save()

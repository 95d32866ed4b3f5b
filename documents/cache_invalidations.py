"""Query cache invalidations kept in MongoDB until Redis has taken them.

A write that changes cached data records the cache tags it affects here, in the transaction of the
write when there is one, so the record exists exactly when the change does. The invalidation is
then applied to Redis and the record deleted. A record that is still here means the cache may
hold entries that show data which is no longer true: the query cache serves nothing until it has
applied every record (`resolvers/query_cache.py`).

Records are few and short-lived: one per write, deleted within milliseconds while Redis accepts
writes. Only during a Redis fault do they pile up, and then the next replay applies them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import WriteConcern
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.common import utc_now


class PendingInvalidation(Document):
    """Cache tags a committed write changed, not yet applied to Redis."""

    tags: list[str]
    created_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "pending_cache_invalidations"


CACHE_INVALIDATION_DOCUMENTS: list[type[Document]] = [PendingInvalidation]


async def record_invalidation(
    tags: Iterable[str], *, session: AsyncClientSession | None = None
) -> PydanticObjectId:
    """Record that `tags` must be invalidated; with `session`, as part of its transaction."""
    # Written as `PendingInvalidation(...).insert()` would, without Beanie's per-document work:
    # every write that changes cached data (every checkout) makes one.
    result = await PendingInvalidation.get_pymongo_collection().insert_one(
        {"tags": sorted(set(tags)), "created_at": utc_now()}, session=session
    )
    return PydanticObjectId(result.inserted_id)


async def pending_invalidations(limit: int) -> list[PendingInvalidation]:
    """The oldest `limit` records not yet applied."""
    return await PendingInvalidation.find_all().sort("_id").limit(limit).to_list()


async def forget_invalidations(ids: Iterable[PydanticObjectId]) -> None:
    """Delete the records with `ids`: Redis has taken them. Only by id: a record committed since
    they were read has not been applied."""
    id_list = list(ids)
    if not id_list:
        return
    # Acknowledged by the primary, without waiting for the journal or a majority: a deletion
    # lost in a failover brings back a record that is only applied again, at no harm.
    collection = PendingInvalidation.get_pymongo_collection().with_options(
        write_concern=WriteConcern(w=1, j=False)
    )
    await collection.delete_many({"_id": {"$in": id_list}})

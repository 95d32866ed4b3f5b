"""Requests to rebuild the search index, for the one process that writes it (the worker's
follower, resolvers/search_index.py) from a command run elsewhere (`search-rebuild`)."""

from __future__ import annotations

from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel

from documents.common import utc_now


class SearchIndexRebuild(Document):
    """One request; the follower sees it in the change stream it reads anyway, rebuilds, and
    records when it finished and how many products the rebuilt index holds."""

    requested_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    products: int | None = None

    class Settings:
        name = "search_index_rebuilds"
        indexes = [
            IndexModel(
                [("finished_at", pymongo.ASCENDING)], name="expiry", expireAfterSeconds=7 * 86400
            )
        ]


SEARCH_INDEX_DOCUMENTS: list[type[Document]] = [SearchIndexRebuild]

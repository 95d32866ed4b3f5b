"""Webhook events applied once: the provider's event id recorded in the transaction that applies
it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import pymongo
from beanie import Document
from pydantic import Field
from pymongo import IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.common import utc_now
from documents.transactions import in_transaction


class ProcessedWebhook(Document):
    """A webhook event already applied, by the provider's event id: a replay finds it here."""

    id: str  # type: ignore[assignment]  # X-Razorpay-Event-Id
    event: str
    outcome: str = ""
    received_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "processed_webhooks"
        indexes = [
            # The provider retries for a day; a month covers any replay worth catching.
            IndexModel(
                [("received_at", pymongo.ASCENDING)],
                name="forget_after_30_days",
                expireAfterSeconds=30 * 24 * 3600,
            )
        ]


SETTLEMENT_DOCUMENTS: list[type[Document]] = [ProcessedWebhook]


async def once_per_event(
    event_id: str, event: str, work: Callable[[AsyncClientSession], Awaitable[str]]
) -> str | None:
    """Run `work` and record `event_id` in one transaction; None if the event was applied
    before (the unique id decides, also between two deliveries arriving together)."""

    async def apply(session: AsyncClientSession) -> str:
        record = ProcessedWebhook(id=event_id, event=event)
        try:
            await ProcessedWebhook.get_pymongo_collection().insert_one(
                record.model_dump(by_alias=True), session=session
            )
        except DuplicateKeyError:
            raise _AppliedBeforeError from None  # only this insert means a replay
        outcome = await work(session)
        await ProcessedWebhook.get_pymongo_collection().update_one(
            {"_id": event_id}, {"$set": {"outcome": outcome}}, session=session
        )
        return outcome

    try:
        return await in_transaction(apply)
    except _AppliedBeforeError:
        return None


class _AppliedBeforeError(Exception):
    """The event id is recorded already: the event was applied."""

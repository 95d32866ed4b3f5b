"""The outbox: work that must not be lost (an email), written in the transaction that caused it.

MongoDB is the source of truth; the job queue in Redis only carries entry ids. An entry moves

    PENDING ──relay or nudge──▶ QUEUED ──job claims──▶ SENDING ──sent──▶ SENT
                                  ▲                       │
                                  └──── failed, retry ────┤──── last attempt failed ──▶ FAILED

and SKIPPED entries are recorded and never sent. A job claims an entry with one conditional
update that takes a lease; only the holder of the lease can finish it. `next_relay_at` is when
the relay should next look at an entry: at once while PENDING; while QUEUED, after a delay in
which its job should have run (Redis may have lost it); while SENDING, when the lease ends (its
worker may have died). Finished entries have none. SENT and SKIPPED entries are deleted
`retention` after they finish (a TTL index on `delete_after`); FAILED ones stay until someone
looks at them (back to PENDING, with `attempts` 0 and `next_relay_at` now, sends one again).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pymongo
from beanie import Document, PydanticObjectId, SortDirection
from pydantic import BaseModel, Field
from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.common import stored_id, utc_now

_ERROR_CHARS = 500


class OutboxStatus(enum.StrEnum):
    PENDING = "PENDING"  # written, not yet handed to the job queue
    QUEUED = "QUEUED"  # handed to the job queue (which may have lost it since)
    SENDING = "SENDING"  # claimed by a job, under a lease
    SENT = "SENT"
    FAILED = "FAILED"  # every attempt failed; nothing will try again
    SKIPPED = "SKIPPED"  # recorded only, never sent


class OutboxKind(enum.StrEnum):
    EMAIL = "EMAIL"


class EmailPayload(BaseModel):
    """One email to one recipient, as the sender will get it."""

    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class OutboxPolicy:
    """The timings of the outbox, from the settings."""

    lease: timedelta  # how long a claim holds; longer than one delivery can take
    requeue_after: timedelta  # a QUEUED entry not sent by then is handed to the queue again
    retention: timedelta  # how long SENT and SKIPPED entries are kept
    max_attempts: int  # deliveries tried before an entry is FAILED


class OutboxMessage(Document):
    """One entry of the outbox; see the module docstring for its life."""

    kind: OutboxKind = OutboxKind.EMAIL
    payload: EmailPayload
    # Unique: the caller's idempotency key ("order-confirmation:<order id>"), or a random one.
    dedup_key: str
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0  # deliveries tried (claims taken)
    last_error: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    next_relay_at: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    queued_at: datetime | None = None
    sent_at: datetime | None = None
    delete_after: datetime | None = None

    class Settings:
        name = "outbox_messages"
        indexes = [
            IndexModel([("dedup_key", pymongo.ASCENDING)], name="dedup_key_unique", unique=True),
            IndexModel([("next_relay_at", pymongo.ASCENDING)], name="relay_due"),
            IndexModel(
                [("delete_after", pymongo.ASCENDING)], name="retention", expireAfterSeconds=0
            ),
        ]


OUTBOX_DOCUMENTS: list[type[Document]] = [OutboxMessage]


async def add_email(
    payload: EmailPayload,
    *,
    policy: OutboxPolicy,
    key: str | None = None,
    session: AsyncClientSession | None = None,
    send: bool = True,
    new_key: bool = False,
) -> tuple[OutboxMessage, bool]:
    """Write an email to the outbox, in `session`'s transaction when given; return it and
    whether it is new.

    With `key`, a second call returns the first entry (and False) instead of writing another.
    `new_key=True` says no entry can have `key` yet (it names a document the same transaction
    created): it is not looked for, and if one has it after all the insert fails on the unique
    index. `send=False` records a SKIPPED entry that is never sent.
    """
    now = utc_now()
    if key is not None and not new_key:
        existing = await OutboxMessage.find_one(OutboxMessage.dedup_key == key, session=session)
        if existing is not None:
            return existing, False
    entry = OutboxMessage(
        payload=payload,
        dedup_key=key or f"unique:{uuid.uuid4().hex}",
        status=OutboxStatus.PENDING if send else OutboxStatus.SKIPPED,
        next_relay_at=now if send else None,
        delete_after=None if send else now + policy.retention,
        created_at=now,
        updated_at=now,
    )
    stored = entry.model_dump(exclude={"id", "revision_id"})
    try:
        # Validated when it was built; written as Beanie's `insert` would, without its work.
        result = await OutboxMessage.get_pymongo_collection().insert_one(stored, session=session)
    except DuplicateKeyError:
        # Outside a transaction a concurrent writer can win between the find and the insert;
        # inside one, that race is a write conflict and the whole unit runs again.
        if session is not None or key is None:
            raise
        first = await OutboxMessage.find_one(OutboxMessage.dedup_key == key)
        if first is None:
            raise
        return first, False
    entry.id = result.inserted_id
    return entry, True


async def due_for_relay(*, now: datetime, limit: int) -> list[OutboxMessage]:
    """Entries the relay should hand to the queue now, longest waiting first."""
    return (
        await OutboxMessage.find({"next_relay_at": {"$lte": now}})
        .sort([("next_relay_at", SortDirection.ASCENDING)])
        .limit(limit)
        .to_list()
    )


async def mark_queued(entry: OutboxMessage, *, policy: OutboxPolicy, now: datetime) -> bool:
    """Record that `entry`, as it was read, has been handed to the queue. False when it changed
    meanwhile (a job claimed it first): then there is nothing to record."""
    result = await OutboxMessage.get_pymongo_collection().update_one(
        {"_id": entry.id, "status": entry.status, "next_relay_at": entry.next_relay_at},
        {
            "$set": {
                "status": OutboxStatus.QUEUED,
                "queued_at": now,
                "next_relay_at": now + policy.requeue_after,
                # An expired lease ends here: its holder can no longer finish the entry.
                "lease_token": None,
                "lease_expires_at": None,
                "updated_at": now,
            }
        },
    )
    return result.modified_count == 1


async def claim(
    entry_id: PydanticObjectId, *, policy: OutboxPolicy, now: datetime
) -> OutboxMessage | None:
    """Take the lease on an entry that is waiting to be sent, or whose lease has expired, and
    count the attempt. None when it is sent, finished, or leased to another job."""
    raw = await OutboxMessage.get_pymongo_collection().find_one_and_update(
        {
            "_id": entry_id,
            "$or": [
                {"status": {"$in": [OutboxStatus.PENDING, OutboxStatus.QUEUED]}},
                # A job that died mid-send (or a message that kills jobs) is tried again only
                # while attempts are left: a poison message cannot loop for ever.
                {
                    "status": OutboxStatus.SENDING,
                    "lease_expires_at": {"$lte": now},
                    "attempts": {"$lt": policy.max_attempts},
                },
            ],
        },
        {
            "$set": {
                "status": OutboxStatus.SENDING,
                "lease_token": uuid.uuid4().hex,
                "lease_expires_at": now + policy.lease,
                "next_relay_at": now + policy.lease,
                "updated_at": now,
            },
            "$inc": {"attempts": 1},
        },
        return_document=ReturnDocument.AFTER,
    )
    return None if raw is None else OutboxMessage.model_validate(raw)


async def mark_sent(claimed: OutboxMessage, *, policy: OutboxPolicy, now: datetime) -> bool:
    """SENT, if the lease `claimed` holds is still its own; False when it was lost."""
    return await _finish_claim(
        claimed,
        {
            "status": OutboxStatus.SENT,
            "sent_at": now,
            "next_relay_at": None,
            "delete_after": now + policy.retention,
        },
        now=now,
    )


async def release_for_retry(
    claimed: OutboxMessage, error: str, *, policy: OutboxPolicy, now: datetime
) -> bool:
    """Back to QUEUED after a failed attempt; its job runs again after a backoff."""
    return await _finish_claim(
        claimed,
        {
            "status": OutboxStatus.QUEUED,
            "last_error": error[:_ERROR_CHARS],
            "next_relay_at": now + policy.requeue_after,
        },
        now=now,
    )


async def mark_failed(claimed: OutboxMessage, error: str, *, now: datetime) -> bool:
    """FAILED after the last attempt: kept, and not tried again."""
    return await _finish_claim(
        claimed,
        {"status": OutboxStatus.FAILED, "last_error": error[:_ERROR_CHARS], "next_relay_at": None},
        now=now,
    )


async def _finish_claim(claimed: OutboxMessage, changes: dict[str, Any], *, now: datetime) -> bool:
    result = await OutboxMessage.get_pymongo_collection().update_one(
        {
            "_id": stored_id(claimed),
            "status": OutboxStatus.SENDING,
            "lease_token": claimed.lease_token,
        },
        {"$set": {**changes, "lease_token": None, "lease_expires_at": None, "updated_at": now}},
    )
    return result.modified_count == 1

"""The only code that writes stock. Changes are atomic and never take stock below zero."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.catalog import Product, StockMovement
from documents.common import utc_now
from documents.errors import DomainError

MAX_STOCK = 10_000_000
MAX_REASON_LENGTH = 200


class StockErrorCode(enum.StrEnum):
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    INVALID_STOCK = "INVALID_STOCK"
    INVALID_REASON = "INVALID_REASON"


class StockError(DomainError):
    def __init__(self, code: StockErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field)


def _check_reason(reason: str) -> str:
    cleaned = " ".join(reason.split())
    if not 1 <= len(cleaned) <= MAX_REASON_LENGTH:
        raise StockError(
            StockErrorCode.INVALID_REASON,
            f"Give a reason of 1 to {MAX_REASON_LENGTH} characters",
            field="reason",
        )
    return cleaned


async def adjust_stock(
    product_id: ObjectId, delta: int, *, reason: str, actor_id: ObjectId | None
) -> StockMovement:
    """Add `delta` (negative to remove) to the stock, and record it; refuses to go below zero.

    The update matches only while enough stock is left, so concurrent changes can never oversell;
    the movement is written in the same transaction, so the history never misses a change.
    """
    reason = _check_reason(reason)
    if delta == 0 or abs(delta) > MAX_STOCK:
        raise StockError(
            StockErrorCode.INVALID_STOCK, "Change the stock by 1 or more", field="delta"
        )
    condition: dict[str, object] = {"_id": product_id}
    if delta < 0:
        condition["stock"] = {"$gte": -delta}
    else:
        condition["stock"] = {"$lte": MAX_STOCK - delta}

    async def apply(session: AsyncClientSession) -> StockMovement:
        updated = await Product.get_pymongo_collection().find_one_and_update(
            condition,
            {"$inc": {"stock": delta}, "$set": {"updated_at": utc_now()}},
            projection={"stock": 1},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if updated is None:
            exists = await Product.get_pymongo_collection().count_documents(
                {"_id": product_id}, session=session
            )
            if not exists:
                raise StockError(
                    StockErrorCode.PRODUCT_NOT_FOUND, "No such product", field="productId"
                )
            if delta < 0:
                raise StockError(
                    StockErrorCode.INSUFFICIENT_STOCK, "Not enough stock for that", field="delta"
                )
            raise StockError(
                StockErrorCode.INVALID_STOCK, "Stock would be too large", field="delta"
            )
        return await _record(
            session, product_id, updated["stock"] - delta, updated["stock"], reason, actor_id
        )

    return await _in_transaction(apply)


async def set_stock(
    product_id: ObjectId, stock: int, *, reason: str, actor_id: ObjectId | None
) -> StockMovement:
    """Set the stock to a counted number, and record the difference."""
    reason = _check_reason(reason)
    if not 0 <= stock <= MAX_STOCK:
        raise StockError(StockErrorCode.INVALID_STOCK, "Stock must be 0 or more", field="stock")

    async def apply(session: AsyncClientSession) -> StockMovement:
        before = await Product.get_pymongo_collection().find_one_and_update(
            {"_id": product_id},
            {"$set": {"stock": stock, "updated_at": utc_now()}},
            projection={"stock": 1},
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            raise StockError(StockErrorCode.PRODUCT_NOT_FOUND, "No such product", field="productId")
        return await _record(session, product_id, before["stock"], stock, reason, actor_id)

    return await _in_transaction(apply)


async def _record(
    session: AsyncClientSession,
    product_id: ObjectId,
    before: int,
    after: int,
    reason: str,
    actor_id: ObjectId | None,
) -> StockMovement:
    movement = StockMovement(
        product_id=product_id,
        delta=after - before,
        before=before,
        after=after,
        reason=reason,
        actor_id=actor_id,
    )
    await movement.insert(session=session)
    return movement


async def _in_transaction(apply: object) -> StockMovement:
    client = Product.get_pymongo_collection().database.client
    async with client.start_session() as session:
        result: StockMovement = await session.with_transaction(apply)  # type: ignore[arg-type]
    return result


@dataclass(frozen=True)
class StockCount:
    """A product's stock as counted (an import), and what it was when the count was read."""

    product_id: ObjectId
    before: int
    after: int


async def set_counted_stock(
    counts: list[StockCount],
    *,
    reason: str,
    actor_id: ObjectId | None,
    session: AsyncClientSession,
) -> None:
    """Set many products' stock in the caller's transaction, and record each change.

    Each update matches only the stock the count was read against, so a change that slipped in
    since fails the transaction (the caller retries it) instead of being overwritten unrecorded.
    """
    if not counts:
        return
    now = utc_now()
    operations = [
        UpdateOne(
            {"_id": count.product_id, "stock": count.before},
            {"$set": {"stock": count.after, "updated_at": now}},
        )
        for count in counts
    ]
    result = await Product.get_pymongo_collection().bulk_write(
        operations, ordered=False, session=session
    )
    if result.matched_count != len(operations):
        raise StockCountConflictError("stock changed while it was being counted")
    movements = [
        StockMovement(
            product_id=count.product_id,
            delta=count.after - count.before,
            before=count.before,
            after=count.after,
            reason=reason,
            actor_id=actor_id,
            created_at=now,
        ).model_dump(exclude={"id", "revision_id"})
        for count in counts
    ]
    await StockMovement.get_pymongo_collection().insert_many(movements, session=session)


class StockCountConflictError(Exception):
    """The stock changed between reading and writing a count; retry the transaction."""

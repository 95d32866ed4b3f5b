"""The only code that writes stock. Changes are atomic and never take stock below zero.

Every change writes its `StockMovement` in the same transaction as the stock itself, so the
history never misses one, and so do the list counts of a product whose stock reaches or leaves
zero (documents/catalog_counts.py). Each function takes `session=`: given the caller's session
it joins the caller's transaction (checkout takes the stock in the same transaction that writes
the order), otherwise it runs in a transaction of its own.

- `adjust_stock` / `set_stock`: an admin's change of one product (a delivery, a count).
- `take_stock`: many lines at once for an order or reservation, all or nothing.
- `give_back_stock`: return what a reference took (cancelled order, expired reservation), once.
- `set_counted_stock`: an import's counted stock, in the importer's transaction.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.catalog import (
    Product,
    StockMovement,
    StockMovementKind,
    StockReference,
    StockReferenceState,
)
from documents.catalog_counts import COUNTED_PROJECTION, count_product_changes
from documents.common import utc_now
from documents.errors import DomainError
from documents.transactions import in_transaction

MAX_STOCK = 10_000_000
MAX_REASON_LENGTH = 200
MAX_LINES = 100


class StockErrorCode(enum.StrEnum):
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    INVALID_STOCK = "INVALID_STOCK"
    INVALID_REASON = "INVALID_REASON"
    ALREADY_TAKEN = "ALREADY_TAKEN"


class StockError(DomainError):
    def __init__(self, code: StockErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(code, message, field=field)


@dataclass(frozen=True)
class StockLine:
    """A quantity of one product."""

    product_id: ObjectId
    quantity: int


@dataclass(frozen=True)
class ShortLine:
    """A line that could not be taken: how many were asked for, how many are left."""

    product_id: ObjectId
    requested: int
    available: int  # 0 as well for a product that no longer exists


class InsufficientStockError(StockError):
    """Some lines lack stock; nothing was taken. `short` names every such line."""

    def __init__(self, short: list[ShortLine]) -> None:
        self.short = short
        described = ", ".join(
            f"{line.product_id}: {line.requested} asked, {line.available} left" for line in short
        )
        super().__init__(
            StockErrorCode.INSUFFICIENT_STOCK, f"Not enough stock for {described}", field="lines"
        )


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
    product_id: ObjectId,
    delta: int,
    *,
    reason: str,
    actor_id: ObjectId | None,
    session: AsyncClientSession | None = None,
) -> StockMovement:
    """Add `delta` (negative to remove) to the stock, and record it; refuses to go below zero.

    The update matches only while enough stock is left, so concurrent changes can never oversell.
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
            projection=COUNTED_PROJECTION,
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
        before = {**updated, "stock": updated["stock"] - delta}
        await count_product_changes([(before, updated)], session=session)
        movement = _movement(product_id, before["stock"], updated["stock"], reason, actor_id)
        await movement.insert(session=session)
        return movement

    return await in_transaction(apply, session=session)


async def set_stock(
    product_id: ObjectId,
    stock: int,
    *,
    reason: str,
    actor_id: ObjectId | None,
    session: AsyncClientSession | None = None,
) -> StockMovement:
    """Set the stock to a counted number, and record the difference."""
    reason = _check_reason(reason)
    if not 0 <= stock <= MAX_STOCK:
        raise StockError(StockErrorCode.INVALID_STOCK, "Stock must be 0 or more", field="stock")

    async def apply(session: AsyncClientSession) -> StockMovement:
        before = await Product.get_pymongo_collection().find_one_and_update(
            {"_id": product_id},
            {"$set": {"stock": stock, "updated_at": utc_now()}},
            projection=COUNTED_PROJECTION,
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            raise StockError(StockErrorCode.PRODUCT_NOT_FOUND, "No such product", field="productId")
        await count_product_changes([(before, {**before, "stock": stock})], session=session)
        movement = _movement(
            product_id, before["stock"], stock, reason, actor_id, kind=StockMovementKind.COUNTED
        )
        await movement.insert(session=session)
        return movement

    return await in_transaction(apply, session=session)


def _merged(lines: Iterable[StockLine]) -> dict[ObjectId, int]:
    """Quantities by product, in first-seen order; the same product twice counts once, summed."""
    merged: Counter[ObjectId] = Counter()
    for line in lines:
        if not 1 <= line.quantity <= MAX_STOCK:
            raise StockError(
                StockErrorCode.INVALID_STOCK, "Quantities must be 1 or more", field="lines"
            )
        merged[line.product_id] += line.quantity
    if not merged or len(merged) > MAX_LINES:
        raise StockError(
            StockErrorCode.INVALID_STOCK, f"Take 1 to {MAX_LINES} products at once", field="lines"
        )
    return dict(merged)


async def take_stock(
    lines: Iterable[StockLine],
    *,
    reference: str,
    reason: str,
    session: AsyncClientSession | None = None,
    stock_as_read: Mapping[ObjectId, int] | None = None,
) -> list[StockMovement]:
    """Take every line's quantity for `reference` (an order or reservation), all or nothing.

    If any line lacks stock nothing is taken, and `InsufficientStockError` names every short line
    with what is left. A reference takes stock once: taking again for the same reference, with
    the same lines or others, or after it was given back, is refused with ALREADY_TAKEN (its
    `StockReference` is the guard; concurrent takes of one reference conflict on it). Four
    commands and the commit, whatever the number of lines; three with `stock_as_read`, the
    stock of these products as the caller's transaction (`session`) has read it already: in
    the same snapshot, a change since is a write conflict, so it need not be read again. One
    more when a product runs out (its list counts; with `stock_as_read`, two).
    """
    reason = _check_reason(reason)
    wanted = _merged(lines)
    if stock_as_read is not None and session is None:
        raise ValueError("stock_as_read is the stock a caller's transaction read: pass its session")

    async def apply(session: AsyncClientSession) -> list[StockMovement]:
        await _claim_reference(reference, session)
        # Read and written in one transaction: a concurrent change of any of these products
        # between the read and the write is a write conflict, and the whole attempt runs again.
        products: dict[Any, dict[str, Any]] | None = None
        if stock_as_read is not None:
            available = {product_id: stock_as_read.get(product_id, 0) for product_id in wanted}
        else:
            products = await _counted_rows(list(wanted), session)
            available = {product_id: row["stock"] for product_id, row in products.items()}
        short = [
            ShortLine(product_id, quantity, available.get(product_id, 0))
            for product_id, quantity in wanted.items()
            if available.get(product_id, 0) < quantity
        ]
        if short:
            raise InsufficientStockError(short)
        now = utc_now()
        removals = {product_id: -quantity for product_id, quantity in wanted.items()}
        if await _increment(removals, now, session) != len(removals):
            raise RuntimeError("stock changed inside a transaction")  # a conflict, in principle
        stock_after = {
            product_id: available[product_id] + delta for product_id, delta in removals.items()
        }
        if products is None:
            # Only a product that ran out moves in the list counts: read those (rarely any), as
            # they were before this take.
            ran_out = [product_id for product_id, after in stock_after.items() if after <= 0]
            rows = await _counted_rows(ran_out, session) if ran_out else {}
            products = {
                product_id: {**row, "stock": row["stock"] - removals[product_id]}
                for product_id, row in rows.items()
            }
        await _count_stock_changes(products, removals, session)
        return await _record_moves(
            removals, stock_after, StockMovementKind.TAKEN, reference, reason, now, session
        )

    return await in_transaction(apply, session=session)


async def give_back_stock(
    *, reference: str, reason: str, session: AsyncClientSession | None = None
) -> list[StockMovement]:
    """Return everything `reference` took, once: a second call (a replayed webhook, a sweep
    racing a cancellation) finds it given back and changes nothing. Returns the movements this
    call made; empty when there was nothing (left) to give back. A reference given back before it
    took anything (an order expired while its checkout was still running) can no longer take:
    the take and the give-back write the same `StockReference`, so one of them sees the other.
    Products deleted since are skipped."""
    reason = _check_reason(reason)

    async def apply(session: AsyncClientSession) -> list[StockMovement]:
        if not await _release_reference(reference, session):
            return []  # given back already, or nothing taken (and now nothing ever will be)
        taken = await _movements_of(reference, StockMovementKind.TAKEN, session)
        now = utc_now()
        returns: dict[ObjectId, int] = {m.product_id: -m.delta for m in taken}
        await _increment(returns, now, session)
        products = await _counted_rows(list(returns), session)  # without those deleted since
        stock_after = {product_id: row["stock"] for product_id, row in products.items()}
        before = {
            product_id: {**row, "stock": row["stock"] - returns[product_id]}
            for product_id, row in products.items()
        }
        await _count_stock_changes(before, returns, session)
        return await _record_moves(
            returns, stock_after, StockMovementKind.GIVEN_BACK, reference, reason, now, session
        )

    return await in_transaction(apply, session=session)


async def stock_movements_of(
    reference: str, *, session: AsyncClientSession | None = None
) -> list[StockMovement]:
    """The stock history of one order or reservation, oldest first."""
    return await _movements_of(reference, None, session)


@dataclass(frozen=True)
class StockCount:
    """A product's stock as counted (an import), and what it was when the count was read."""

    product_id: ObjectId
    before: int
    after: int


class StockCountConflictError(Exception):
    """The stock changed between reading and writing a count; retry the transaction."""


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
    counted = await _counted_rows([count.product_id for count in counts], session)
    await count_product_changes(
        (
            ({**counted[count.product_id], "stock": count.before}, counted[count.product_id])
            for count in counts
        ),
        session=session,
    )
    movements = [
        _movement(
            count.product_id,
            count.before,
            count.after,
            reason,
            actor_id,
            kind=StockMovementKind.IMPORTED,
            created_at=now,
        )
        for count in counts
    ]
    await _insert_movements(movements, session)


def _movement(
    product_id: ObjectId,
    before: int,
    after: int,
    reason: str,
    actor_id: ObjectId | None,
    *,
    kind: StockMovementKind = StockMovementKind.ADJUSTED,
    reference: str | None = None,
    created_at: datetime | None = None,
) -> StockMovement:
    return StockMovement(
        product_id=product_id,
        delta=after - before,
        before=before,
        after=after,
        reason=reason,
        kind=kind,
        reference=reference,
        actor_id=actor_id,
        created_at=created_at or utc_now(),
    )


async def _increment(
    deltas: dict[ObjectId, int], now: datetime, session: AsyncClientSession
) -> int:
    """Add each delta to its product's stock in one bulk write; a removal matches only while
    enough is left. Returns how many products matched."""
    result = await Product.get_pymongo_collection().bulk_write(
        [
            UpdateOne(
                {"_id": product_id, **({"stock": {"$gte": -delta}} if delta < 0 else {})},
                {"$inc": {"stock": delta}, "$set": {"updated_at": now}},
            )
            for product_id, delta in deltas.items()
        ],
        ordered=False,
        session=session,
    )
    return result.matched_count


async def _record_moves(
    deltas: dict[ObjectId, int],
    stock_after: dict[Any, int],
    kind: StockMovementKind,
    reference: str,
    reason: str,
    now: datetime,
    session: AsyncClientSession,
) -> list[StockMovement]:
    """The movements of a change by `deltas` for `reference`, inserted; products missing from
    `stock_after` (deleted) are skipped."""
    movements = [
        _movement(
            product_id,
            stock_after[product_id] - delta,
            stock_after[product_id],
            reason,
            None,
            kind=kind,
            reference=reference,
            created_at=now,
        )
        for product_id, delta in deltas.items()
        if product_id in stock_after
    ]
    await _insert_movements(movements, session)
    return movements


async def _counted_rows(
    product_ids: list[ObjectId], session: AsyncClientSession
) -> dict[Any, dict[str, Any]]:
    """The stock and the other fields the list counts need, of each product that exists."""
    rows = Product.get_pymongo_collection().find(
        {"_id": {"$in": product_ids}}, COUNTED_PROJECTION, session=session
    )
    return {row["_id"]: row async for row in rows}


async def _count_stock_changes(
    before: dict[Any, dict[str, Any]], deltas: dict[ObjectId, int], session: AsyncClientSession
) -> None:
    """Move the products whose stock reached or left zero in the list counts."""
    await count_product_changes(
        (
            (row, {**row, "stock": row["stock"] + deltas[product_id]})
            for product_id, row in before.items()
        ),
        session=session,
    )


async def _movements_of(
    reference: str,
    kind: StockMovementKind | None,
    session: AsyncClientSession | None,
) -> list[StockMovement]:
    query: dict[str, Any] = {"reference": reference}
    if kind is not None:
        query["kind"] = kind
    rows = StockMovement.get_pymongo_collection().find(
        query, sort=[("created_at", 1), ("_id", 1)], session=session
    )
    return [StockMovement.model_validate(row) async for row in rows]


async def _insert_movements(movements: list[StockMovement], session: AsyncClientSession) -> None:
    if not movements:
        return
    documents = [movement.model_dump(exclude={"id", "revision_id"}) for movement in movements]
    try:
        result = await StockMovement.get_pymongo_collection().insert_many(
            documents, session=session
        )
    except DuplicateKeyError:
        # The unique (reference, kind, product) index: a concurrent call for this reference won.
        raise _already_taken() from None
    for movement, inserted_id in zip(movements, result.inserted_ids, strict=True):
        movement.id = inserted_id


async def _claim_reference(reference: str, session: AsyncClientSession) -> None:
    """Record that `reference` takes stock; ALREADY_TAKEN if it took or was given back before."""
    now = utc_now()
    try:
        await StockReference.get_pymongo_collection().insert_one(
            {"reference": reference, "state": StockReferenceState.TAKEN, "updated_at": now},
            session=session,
        )
    except DuplicateKeyError:
        raise _already_taken() from None


async def _release_reference(reference: str, session: AsyncClientSession) -> bool:
    """Mark `reference` given back, creating it if it never took; whether it held stock to give
    back (it was TAKEN until now)."""
    before = await StockReference.get_pymongo_collection().find_one_and_update(
        {"reference": reference},
        {"$set": {"state": StockReferenceState.GIVEN_BACK, "updated_at": utc_now()}},
        upsert=True,
        return_document=ReturnDocument.BEFORE,
        session=session,
    )
    return before is not None and before["state"] == StockReferenceState.TAKEN


def _already_taken() -> StockError:
    return StockError(
        StockErrorCode.ALREADY_TAKEN, "Stock was taken for this already", field="reference"
    )

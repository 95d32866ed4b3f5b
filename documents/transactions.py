"""One way to run a unit of work in a MongoDB transaction, and what to do once it commits.

`in_transaction(work)` starts a session and a transaction and runs `work(session)` in it. As
PyMongo's `with_transaction` (the drivers' convenient transaction API) does, it retries the whole
unit when the server labels an error `TransientTransactionError` (a write conflict with a
concurrent transaction), and the commit alone on `UnknownTransactionCommitResult`, for up to 120
seconds; any other error aborts and is raised. Unlike it, it does not retry when MongoDB cannot
be reached or does not answer in time (`errors.database_unavailable`): the operation already
waited out the client's timeouts (the MONGODB_*_TIMEOUT_SECONDS settings), and
`with_transaction` would wait them out again on every retry, for two minutes. The error is raised
at once and the request answers SERVICE_UNAVAILABLE. Given the caller's `session`, it joins the
caller's transaction instead: the caller commits or aborts, and retries.

Effects that must not happen unless the data they describe was committed (cache invalidation,
emails, background jobs) are registered with `after_commit` while the work runs. They are kept per
attempt: an attempt that aborts (or is retried) drops its effects, and the outermost transaction
runs the effects of the attempt that committed, once, after the commit.

Effects are best effort: a process that dies between the commit and the effects, or a commit
whose result stays unknown, loses them. So work that must not be lost (an order email, a refund
follow-up, a cache invalidation) is written to MongoDB inside the transaction (an outbox, a
pending invalidation) and only handed on by an effect.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import pymongo
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from documents.catalog import Category
from documents.errors import database_unavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
Effect = Callable[[], Awaitable[object]]
Work = Callable[[AsyncClientSession], Coroutine[Any, Any, T]]

# PyMongo's `with_transaction` limits: how long retries go on, and the backoff between them.
_RETRY_TIME_LIMIT_SECONDS = 120.0
_BACKOFF_FIRST_SECONDS = 0.005
_BACKOFF_MAX_SECONDS = 0.5
# Aborting after MongoDB stopped answering is best effort: the server drops an abandoned
# transaction by itself (transactionLifetimeLimitSeconds), so the request does not wait for it.
_ABORT_AFTER_OUTAGE_SECONDS = 0.5


class AfterCommit:
    """The effects one attempt of a transaction registered, in the order they were added."""

    def __init__(self) -> None:
        self._effects: list[Effect] = []

    def add(self, effect: Effect) -> None:
        self._effects.append(effect)

    async def run(self) -> None:
        """Run each effect once. A failing effect is logged and the others still run: the data
        is committed either way, and each effect is one that may be lost or is made durable by
        its own means (an outbox, a pending cache invalidation)."""
        effects, self._effects = self._effects, []
        for effect in effects:
            try:
                await effect()
            except Exception:
                logger.exception("an after-commit effect failed")


# The session and effects of the transaction attempt running in this task, if one is.
_current: contextvars.ContextVar[tuple[AsyncClientSession, AfterCommit] | None] = (
    contextvars.ContextVar("after_commit", default=None)
)


def in_transaction_now() -> bool:
    """Whether the calling code runs inside `in_transaction`."""
    return _current.get() is not None


def current_session() -> AsyncClientSession | None:
    """The session of the transaction the calling code runs in, to join it; None outside one."""
    current = _current.get()
    return None if current is None else current[0]


def after_commit(effect: Effect) -> None:
    """Run `effect` once the transaction under way commits; never if it aborts.

    Outside a transaction there is nothing to wait for: use `run_after_commit` to run it now.
    """
    current = _current.get()
    if current is None:
        raise RuntimeError("after_commit needs a transaction; use run_after_commit outside one")
    current[1].add(effect)


async def run_after_commit(effect: Effect) -> None:
    """Inside a transaction: `after_commit(effect)`. Outside one (a single-document write that
    is already durable): run it now, with the same error handling."""
    if in_transaction_now():
        after_commit(effect)
        return
    effects = AfterCommit()
    effects.add(effect)
    await effects.run()


def mongo_client() -> AsyncMongoClient[Any]:
    """The client every document is bound to: `init_beanie` binds them all to one database, so
    any document leads to it (`Category` is only the handle)."""
    return Category.get_pymongo_collection().database.client


async def in_transaction(work: Work[T], *, session: AsyncClientSession | None = None) -> T:
    """Run `work(session)` in a transaction: a new one, or the caller's when `session` is given.

    Returns what `work` returns, after the commit and after the effects registered with
    `after_commit` have run. Domain errors raised by `work` abort the transaction and propagate.
    """
    if session is not None:
        current = _current.get()
        if current is None or current[0] is not session:
            # A transaction opened some other way would run the effects registered in it at
            # once, before it commits (or aborts).
            raise RuntimeError("in_transaction joins only a transaction in_transaction opened")
        return await work(session)
    if in_transaction_now():
        # A second, independent transaction would conflict with the first, or commit alone.
        raise RuntimeError("already in a transaction: pass its session to join it")
    attempts: list[AfterCommit] = []

    async def attempt(session: AsyncClientSession) -> T:
        effects = AfterCommit()
        attempts.append(effects)
        token = _current.set((session, effects))
        try:
            return await work(session)
        finally:
            _current.reset(token)

    async with mongo_client().start_session() as new_session:
        result = await _with_transaction(new_session, attempt)
    # Only the last attempt committed; the ones before it aborted and their effects are dropped.
    # Shielded: a request cancelled now (a client gone, a shutdown) still runs them all.
    await asyncio.shield(attempts[-1].run())
    return result


async def _with_transaction(session: AsyncClientSession, work: Work[T]) -> T:
    """PyMongo's `with_transaction`, with no retries after an outage (see the module's doc)."""
    started = time.monotonic()
    attempts = 0
    while True:
        if attempts:
            # As PyMongo does: exponential backoff with jitter, so retries do not run in step.
            backoff = _BACKOFF_FIRST_SECONDS * 1.5**attempts
            await asyncio.sleep(random.random() * min(backoff, _BACKOFF_MAX_SECONDS))  # noqa: S311
        attempts += 1
        await session.start_transaction()
        try:
            result = await work(session)
        except BaseException as error:
            if session.in_transaction:
                await _abort(session, error)
            if _retryable(error, "TransientTransactionError", started):
                continue
            raise
        if not session.in_transaction or await _committed(session, started):
            return result


async def _committed(session: AsyncClientSession, started: float) -> bool:
    """Commit; False when the whole transaction is to run again."""
    while True:
        try:
            await session.commit_transaction()
        except PyMongoError as error:
            if _retryable(error, "UnknownTransactionCommitResult", started):
                continue
            if _retryable(error, "TransientTransactionError", started):
                return False
            raise
        return True


async def _abort(session: AsyncClientSession, error: BaseException) -> None:
    # abort_transaction ignores the errors of the abort itself, as the transactions spec says.
    if database_unavailable(error):
        with pymongo.timeout(_ABORT_AFTER_OUTAGE_SECONDS):
            await session.abort_transaction()
    else:
        await session.abort_transaction()


def _retryable(error: BaseException, label: str, started: float) -> bool:
    return (
        isinstance(error, PyMongoError)
        and error.has_error_label(label)
        and not database_unavailable(error)
        and time.monotonic() - started < _RETRY_TIME_LIMIT_SECONDS
    )

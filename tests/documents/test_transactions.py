"""`in_transaction`: commit or abort as a whole, retry on conflicts (not on an outage), join a
caller's transaction, and run after-commit effects once, only for the attempt that committed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError
from starlette.applications import Starlette

from documents.catalog import Category, Product
from documents.errors import database_unavailable
from documents.transactions import after_commit, in_transaction, mongo_client, run_after_commit
from integrations.email import EmailMessage
from resolvers.accounts.emails import deliver
from resolvers.context import new_context
from resolvers.query_cache import product_tags
from settings import Settings
from tests.factories import make_category, make_product
from tests.fakes.mongo_proxy import MongoProxy
from tests.support import another_app, sent_emails

pytestmark = pytest.mark.usefixtures("app")


class RefusedError(Exception):
    pass


async def rename(session: AsyncClientSession, category: Category, name: str) -> None:
    await Category.get_pymongo_collection().update_one(
        {"_id": category.id}, {"$set": {"name": name}}, session=session
    )


async def stored_name(category: Category) -> str:
    found = await Category.get(category.id)
    assert found is not None
    return found.name


async def test_effects_run_once_after_the_commit_and_see_the_committed_data() -> None:
    shoes = await make_category("Shoes")
    seen: list[str] = []

    async def work(session: AsyncClientSession) -> str:
        await rename(session, shoes, "Boots")

        async def effect() -> None:
            seen.append(await stored_name(shoes))  # read outside the transaction

        after_commit(effect)
        assert seen == []  # not inside the transaction
        return "done"

    assert await in_transaction(work) == "done"

    assert seen == ["Boots"]


async def test_an_aborted_transaction_writes_nothing_and_runs_no_effect() -> None:
    shoes = await make_category("Shoes")
    ran: list[str] = []

    async def work(session: AsyncClientSession) -> None:
        await rename(session, shoes, "Boots")
        after_commit(lambda: _record(ran, "effect"))
        raise RefusedError

    with pytest.raises(RefusedError):
        await in_transaction(work)

    assert await stored_name(shoes) == "Shoes"
    assert ran == []


async def test_an_aborted_transaction_leaves_the_cache_and_the_email_outbox_untouched(
    app: Starlette, settings: Settings
) -> None:
    product = await make_product(await make_category("Shoes"))
    ctx = new_context(settings=settings, services=app.state.services, request_id="test")
    message = EmailMessage(to="asha@example.com", subject="Order placed", text="t", html="<p>t</p>")
    tag_keys = [f"{settings.redis_key_prefix}qc:tag:{tag}" for tag in product_tags(product)]

    async def work(session: AsyncClientSession, *, fail: bool) -> None:
        await Product.get_pymongo_collection().update_one(
            {"_id": product.id}, {"$inc": {"stock": -1}}, session=session
        )
        await ctx.query_cache.product_changed(product)
        await deliver(ctx, message)
        if fail:
            raise RefusedError

    with pytest.raises(RefusedError):
        await in_transaction(lambda session: work(session, fail=True))

    assert await app.state.redis.exists(*tag_keys) == 0
    assert await sent_emails(app, settings, "asha@example.com") == []
    # The same unit of work, committed: both effects happen.
    await in_transaction(lambda session: work(session, fail=False))
    assert await app.state.redis.exists(*tag_keys) == len(tag_keys)
    assert [m["subject"] for m in await sent_emails(app, settings, "asha@example.com")] == [
        "Order placed"
    ]


async def test_a_write_conflict_runs_the_work_again_and_only_the_last_attempts_effects() -> None:
    shoes = await make_category("Shoes")
    attempts: list[int] = []
    ran: list[int] = []

    async def work(session: AsyncClientSession) -> None:
        attempt = len(attempts) + 1
        attempts.append(attempt)
        after_commit(lambda: _record(ran, attempt))
        await Category.get_pymongo_collection().find_one({"_id": shoes.id}, session=session)
        if attempt == 1:
            # Another writer commits after this transaction's snapshot was taken: writing the
            # same document now is a write conflict, labelled transient, so the unit runs again.
            await Category.get_pymongo_collection().update_one(
                {"_id": shoes.id}, {"$set": {"description": "changed meanwhile"}}
            )
        await rename(session, shoes, f"Attempt {attempt}")

    await in_transaction(work)

    assert attempts == [1, 2]
    assert ran == [2]
    assert await stored_name(shoes) == "Attempt 2"


async def test_joining_the_callers_transaction_commits_and_aborts_with_it() -> None:
    shoes, bags = await make_category("Shoes"), await make_category("Bags")
    ran: list[str] = []

    async def inner(session: AsyncClientSession) -> None:
        await rename(session, bags, "Totes")
        after_commit(lambda: _record(ran, "inner"))

    async def outer(session: AsyncClientSession, *, fail: bool) -> None:
        await rename(session, shoes, "Boots")
        await in_transaction(inner, session=session)
        assert ran == []  # the inner unit's effects wait for the outer commit
        if fail:
            raise RefusedError

    with pytest.raises(RefusedError):
        await in_transaction(lambda session: outer(session, fail=True))
    assert (await stored_name(shoes), await stored_name(bags), ran) == ("Shoes", "Bags", [])

    await in_transaction(lambda session: outer(session, fail=False))
    assert (await stored_name(shoes), await stored_name(bags), ran) == ("Boots", "Totes", ["inner"])


async def test_a_second_transaction_inside_one_is_refused_rather_than_run_apart() -> None:
    async def nested(session: AsyncClientSession) -> None:
        await in_transaction(_nothing)

    with pytest.raises(RuntimeError, match="already in a transaction"):
        await in_transaction(nested)


async def test_effects_outside_a_transaction_run_at_once_and_a_failing_one_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def failing() -> None:
        raise ValueError("the cache is down")

    with pytest.raises(RuntimeError):
        after_commit(lambda: _record(ran, "too early"))
    await run_after_commit(lambda: _record(ran, "now"))

    async def work(session: AsyncClientSession) -> None:
        after_commit(failing)
        after_commit(lambda: _record(ran, "after the failing one"))

    with caplog.at_level(logging.ERROR, logger="documents.transactions"):
        await in_transaction(work)

    assert ran == ["now", "after the failing one"]
    assert "after-commit effect failed" in caplog.text


async def _record(into: list[Any], value: Any) -> None:
    into.append(value)


async def _nothing(session: AsyncClientSession) -> None:
    return None


async def test_a_transaction_opened_by_hand_cannot_be_joined() -> None:
    shoes = await make_category("Shoes")
    ran: list[str] = []

    async def work(session: AsyncClientSession) -> None:
        await rename(session, shoes, "Boots")
        after_commit(lambda: _record(ran, "too early"))

    async with mongo_client().start_session() as session:
        await session.start_transaction()
        with pytest.raises(RuntimeError, match="joins only"):
            await in_transaction(work, session=session)
        await session.abort_transaction()

    assert (await stored_name(shoes), ran) == ("Shoes", [])


async def test_mongodb_stalling_during_the_work_fails_it_at_once_without_a_retry(
    app: Starlette, proxied_settings: Settings, mongo_proxy: MongoProxy
) -> None:
    shoes = await make_category("Shoes")
    attempts: list[int] = []
    ran: list[str] = []

    async def work(session: AsyncClientSession) -> None:
        attempts.append(len(attempts) + 1)
        after_commit(lambda: _record(ran, "effect"))
        mongo_proxy.stall()
        await rename(session, shoes, "Boots")

    async with another_app(proxied_settings, app):
        with pytest.raises(PyMongoError) as raised:
            await in_transaction(work)

    # PyMongo labels it TransientTransactionError, and its with_transaction would run the work
    # again for two minutes, each attempt waiting out the timeout again.
    assert raised.value.has_error_label("TransientTransactionError")
    assert database_unavailable(raised.value)
    assert attempts == [1]
    assert (await stored_name(shoes), ran) == ("Shoes", [])


async def test_mongodb_stalling_before_the_commit_fails_it_at_once_and_commits_nothing(
    app: Starlette, proxied_settings: Settings, mongo_proxy: MongoProxy
) -> None:
    shoes = await make_category("Shoes")
    attempts: list[int] = []
    ran: list[str] = []
    sessions: list[dict[str, Any]] = []

    async def work(session: AsyncClientSession) -> None:
        attempts.append(len(attempts) + 1)
        sessions.append(session.session_id)
        after_commit(lambda: _record(ran, "effect"))
        await rename(session, shoes, "Boots")
        mongo_proxy.stall()  # the commit will not get through

    async with another_app(proxied_settings, app):
        with pytest.raises(PyMongoError) as raised:
            await in_transaction(work)
        # MongoDB still holds the transaction nobody committed, with its write to `shoes`:
        # end it now, as its lifetime limit would a minute later.
        await app.state.mongo.admin.command("killSessions", sessions)

    assert raised.value.has_error_label("UnknownTransactionCommitResult")
    assert database_unavailable(raised.value)
    assert attempts == [1]
    assert (await stored_name(shoes), ran) == ("Shoes", [])

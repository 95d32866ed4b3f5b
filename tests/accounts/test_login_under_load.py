"""Sign-in limits that hold under load and faults: a burst of concurrent guesses through a tiny
Redis pool checks no more passwords than the limit allows, and a limiter that cannot decide
refuses sign-in (fails closed) while shopping goes on (fails open)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import BlockingConnectionPool

from documents.accounts import AuthSession
from integrations.local_servers import free_port
from resolvers.accounts import sessions
from resolvers.rate_limits import UNDECIDED_RETRY_AFTER_SECONDS, RateLimiter
from server.app import build_rate_limiter
from settings import Settings
from tests.cart.cart_api import add_line
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user
from tests.support import LOGIN, error_codes, graphql, payload_codes

WRONG = "not the password"


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password `login` checks with bcrypt, in order."""
    checked: list[str] = []
    check = sessions.password_matches

    def counted(password: str, password_hash: str | None, *, rounds: int) -> bool:
        checked.append(password)
        return check(password, password_hash, rounds=rounds)

    monkeypatch.setattr(sessions, "password_matches", counted)
    return checked


@pytest.fixture
async def limiter_for(
    replace_services: Callable[..., None], settings: Settings
) -> AsyncIterator[Callable[..., RateLimiter]]:
    """Serves requests with a limiter built from the settings with `changes`, as the app builds it."""
    built: list[RateLimiter] = []

    def use(**changes: Any) -> RateLimiter:
        built.append(build_rate_limiter(settings.model_copy(update=changes)))
        replace_services(rate_limiter=built[-1])
        return built[-1]

    yield use
    for limiter in built:
        await limiter.close()


async def attempt(client: httpx.AsyncClient, password: str) -> dict[str, Any]:
    variables = {"input": {"email": "asha@example.com", "password": password}}
    return await graphql(client, LOGIN, variables)


def outcome(body: dict[str, Any]) -> str:
    return (error_codes(body) or payload_codes(body, "login") or ["SIGNED_IN"])[0]


async def test_200_concurrent_guesses_through_a_tiny_pool_check_five_passwords(
    client: httpx.AsyncClient, limiter_for: Callable[..., RateLimiter], password_checks: list[str]
) -> None:
    await make_user("asha@example.com")
    # Two connections for 200 requests: the others wait their turn instead of failing.
    limiter_for(redis_max_connections=2, redis_timeout_seconds=30)

    answers = await asyncio.gather(*(attempt(client, WRONG) for _ in range(200)))
    after = await attempt(client, DEFAULT_PASSWORD)

    assert password_checks == [WRONG] * 5  # login:account_ip is 5/minute
    assert (
        sorted(outcome(a) for a in answers) == ["INVALID_CREDENTIALS"] * 5 + ["RATE_LIMITED"] * 195
    )
    assert all(
        a["errors"][0]["extensions"]["retryAfter"] > UNDECIDED_RETRY_AFTER_SECONDS
        for a in answers
        if outcome(a) == "RATE_LIMITED"
    )
    assert outcome(after) == "RATE_LIMITED"
    assert await AuthSession.count() == 0


async def test_guesses_that_find_no_free_connection_in_time_are_refused_unchecked(
    client: httpx.AsyncClient, limiter_for: Callable[..., RateLimiter], password_checks: list[str]
) -> None:
    await make_user("asha@example.com")
    # One connection and almost no patience: most checks cannot be decided.
    limiter_for(redis_max_connections=1, redis_timeout_seconds=0.001)

    answers = await asyncio.gather(*(attempt(client, WRONG) for _ in range(200)))

    outcomes = [outcome(a) for a in answers]
    assert len(password_checks) <= 5
    assert outcomes.count("INVALID_CREDENTIALS") == len(password_checks)
    assert outcomes.count("RATE_LIMITED") == 200 - len(password_checks)
    assert await AuthSession.count() == 0


async def test_without_redis_sign_in_is_refused_and_shopping_goes_on(
    client: httpx.AsyncClient,
    replace_services: Callable[..., None],
    settings: Settings,
    password_checks: list[str],
) -> None:
    await make_user("asha@example.com")
    product = await make_product(await make_category())
    nowhere = BlockingConnectionPool.from_url(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
    limiter = RateLimiter(
        nowhere, key_prefix=settings.redis_key_prefix, limits=settings.rate_limits
    )
    replace_services(rate_limiter=limiter)

    refused = await attempt(client, DEFAULT_PASSWORD)
    guest_cart = await add_line(client, product)

    assert error_codes(refused) == ["RATE_LIMITED"]
    assert refused["errors"][0]["extensions"]["retryAfter"] == UNDECIDED_RETRY_AFTER_SECONDS
    assert refused["data"] is None
    assert password_checks == []
    assert await AuthSession.count() == 0
    # Creating a guest cart is limited too, but a cache outage must not stop shopping.
    assert guest_cart["errors"] == []
    assert guest_cart["cartToken"]
    await limiter.close()

"""The rate limiter itself: limits per scope, retryAfter, devices, and what it does when Redis
cannot answer: credential actions fail closed, the others open."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import BlockingConnectionPool, ConnectionPool
from starlette.applications import Starlette

from documents.errors import RateLimitedError
from integrations.local_servers import free_port
from resolvers.rate_limits import (
    CREDENTIAL_ACTIONS,
    UNDECIDED_RETRY_AFTER_SECONDS,
    RateLimiter,
    client_network,
)
from settings import Settings

LimiterFactory = Callable[..., RateLimiter]


@pytest.fixture
async def limiter_with(app: Starlette, settings: Settings) -> AsyncIterator[LimiterFactory]:
    """Builds limiters with the given limits on the test Redis (keys under the settings' prefix,
    removed after each test), or on `pool`; closes them afterwards."""
    built: list[RateLimiter] = []

    def build(limits: dict[str, str], *, pool: ConnectionPool | None = None) -> RateLimiter:
        assert settings.redis_url is not None
        pool = pool or BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=10, timeout=1.0
        )
        built.append(RateLimiter(pool, key_prefix=settings.redis_key_prefix, limits=limits))
        return built[-1]

    yield build
    for limiter in built:
        await limiter.close()


async def test_counts_each_scope_and_says_when_to_retry(limiter_with: LimiterFactory) -> None:
    limiter = limiter_with(
        {"act:account_ip": "2/minute", "act:account": "3/minute", "act:ip": "4/minute"}
    )

    await limiter.check("act", ip="10.0.0.1", account="a@example.com")
    await limiter.check("act", ip="10.0.0.1", account="a@example.com")
    # The account's third try from this address is refused (it still counts everywhere).
    with pytest.raises(RateLimitedError) as per_account_and_ip:
        await limiter.check("act", ip="10.0.0.1", account="a@example.com")
    # From elsewhere, the account has had its three tries.
    with pytest.raises(RateLimitedError):
        await limiter.check("act", ip="10.0.0.2", account="a@example.com")
    await limiter.check("act", ip="10.0.0.1", account="b@example.com")  # the address's 4th
    with pytest.raises(RateLimitedError):
        await limiter.check("act", ip="10.0.0.1", account="c@example.com")

    assert 1 <= per_account_and_ip.value.extensions["retryAfter"] <= 60


@pytest.mark.parametrize(
    ("ip", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_ipv6_clients_count_per_64_network(ip: str, network: str) -> None:
    assert client_network(ip) == network


async def test_without_redis_credential_checks_fail_closed_and_the_rest_open(
    limiter_with: LimiterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = BlockingConnectionPool.from_url(f"redis://127.0.0.1:{free_port()}/0", timeout=1.0)
    limiter = limiter_with({"login:ip": "1/minute", "place_order:ip": "1/minute"}, pool=nowhere)

    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await limiter.check("place_order", ip="10.0.0.1")
            with pytest.raises(RateLimitedError) as refused:
                await limiter.check("login", ip="10.0.0.1")
            assert refused.value.extensions == {"retryAfter": UNDECIDED_RETRY_AFTER_SECONDS}

    assert "place_order failed open" in caplog.text
    assert "login failed closed" in caplog.text


def test_every_check_of_a_secret_fails_closed() -> None:
    assert {
        "login",
        "change_password",
        "request_password_reset",
        "verify_password_reset_otp",
        "admin_signup",
    } == CREDENTIAL_ACTIONS


async def test_with_no_free_connection_in_time_a_credential_check_is_refused(
    limiter_with: LimiterFactory, settings: Settings
) -> None:
    assert settings.redis_url is not None
    pool = BlockingConnectionPool.from_url(settings.redis_url, max_connections=1, timeout=0.05)
    limiter = limiter_with({"login:ip": "5/minute", "place_order:ip": "1/minute"}, pool=pool)
    held = await pool.get_connection()

    with pytest.raises(RateLimitedError) as refused:
        await limiter.check("login", ip="10.0.0.1")
    await limiter.check("place_order", ip="10.0.0.1")  # fails open: not counted
    await pool.release(held)

    assert refused.value.extensions == {"retryAfter": UNDECIDED_RETRY_AFTER_SECONDS}
    # With the connection back, the checks are decided, and nothing was counted before.
    await limiter.check("place_order", ip="10.0.0.1")
    with pytest.raises(RateLimitedError) as decided:
        await limiter.check("place_order", ip="10.0.0.1")
    assert decided.value.extensions["retryAfter"] > UNDECIDED_RETRY_AFTER_SECONDS


async def test_a_known_device_counts_against_its_own_limit_not_the_account(
    limiter_with: LimiterFactory,
) -> None:
    limiter = limiter_with(
        {"login:account": "2/minute", "login:account_ip": "2/minute", "login:device": "3/minute"}
    )
    for number in range(2):
        await limiter.check("login", ip=f"10.0.0.{number}", account="a@example.com")
    with pytest.raises(RateLimitedError):
        await limiter.check("login", ip="10.0.0.9", account="a@example.com")

    for _ in range(3):
        await limiter.check("login", ip="10.0.0.9", account="a@example.com", device="phone")
    with pytest.raises(RateLimitedError):
        await limiter.check("login", ip="10.0.0.8", account="a@example.com", device="phone")
    # Another device of the account has a budget of its own.
    await limiter.check("login", ip="10.0.0.9", account="a@example.com", device="laptop")


async def test_without_a_device_limit_a_device_counts_against_the_account(
    limiter_with: LimiterFactory,
) -> None:
    limiter = limiter_with({"login:account": "1/minute"})

    await limiter.check("login", ip="10.0.0.1", account="a@example.com", device="phone")

    with pytest.raises(RateLimitedError):
        await limiter.check("login", ip="10.0.0.1", account="a@example.com", device="phone")

"""The rate limiter itself: limits per scope, retryAfter, and failing open without Redis."""

from __future__ import annotations

import logging

import pytest

from documents.errors import RateLimitedError
from integrations.local_servers import free_port
from resolvers.rate_limits import RateLimiter, client_network
from settings import Settings


@pytest.mark.usefixtures("app")
async def test_counts_each_scope_and_says_when_to_retry(settings: Settings) -> None:
    assert settings.redis_url is not None
    limiter = RateLimiter(
        settings.redis_url,
        key_prefix=settings.redis_key_prefix,
        limits={"act:account_ip": "2/minute", "act:account": "3/minute", "act:ip": "4/minute"},
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


async def test_without_redis_the_limits_fail_open(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(
        f"redis://127.0.0.1:{free_port()}/0", key_prefix="t:", limits={"act:ip": "1/minute"}
    )

    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await limiter.check("act", ip="10.0.0.1")

    assert "failed open" in caplog.text

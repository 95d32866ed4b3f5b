"""The rate limiter itself: limits per scope, retryAfter, and failing open without Redis."""

from __future__ import annotations

import logging

import pytest

from documents.errors import RateLimitedError
from integrations.local_servers import free_port
from resolvers.rate_limits import RateLimiter
from settings import Settings


@pytest.mark.usefixtures("app")
async def test_counts_each_scope_and_says_when_to_retry(settings: Settings) -> None:
    assert settings.redis_url is not None
    limiter = RateLimiter(
        settings.redis_url,
        key_prefix=settings.redis_key_prefix,
        limits={"act:account": "2/minute", "act:ip": "3/minute"},
    )

    await limiter.check("act", ip="10.0.0.1", account="a@example.com")
    await limiter.check("act", ip="10.0.0.1", account="a@example.com")
    # The account's third attempt is refused; it still counts as the IP's third.
    with pytest.raises(RateLimitedError) as per_account:
        await limiter.check("act", ip="10.0.0.1", account="a@example.com")
    with pytest.raises(RateLimitedError):
        await limiter.check("act", ip="10.0.0.1", account="b@example.com")
    await limiter.check("act", ip="10.0.0.2", account="a@example.com")  # elsewhere, a fresh count

    assert 1 <= per_account.value.extensions["retryAfter"] <= 60


async def test_without_redis_the_limits_fail_open(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(
        f"redis://127.0.0.1:{free_port()}/0", key_prefix="t:", limits={"act:ip": "1/minute"}
    )

    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await limiter.check("act", ip="10.0.0.1")

    assert "failed open" in caplog.text

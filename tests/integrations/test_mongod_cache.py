"""The embedded mongod's WiredTiger cache: sized from the machine unless EMBEDDED_MONGO_CACHE_GB
says otherwise, and passed on the command line that starts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.local_servers import cache_size_for_memory, mongod_arguments
from server.commands import embedded_mongo_cache
from settings import Settings


def cache_argument(arguments: list[str]) -> str:
    return arguments[arguments.index("--wiredTigerCacheSizeGB") + 1]


@pytest.mark.parametrize(
    ("memory_gb", "cache_gb"),
    [(24, 4.0), (8, 2.8), (4, 1.2), (1, 0.25), (256, 4.0)],
)
def test_the_cache_is_a_share_of_the_memory_less_headroom_within_bounds(
    memory_gb: float, cache_gb: float
) -> None:
    assert cache_size_for_memory(memory_gb) == cache_gb


def test_the_setting_sets_the_cache_on_the_command_line(tmp_path: Path) -> None:
    cache_gb, origin = embedded_mongo_cache(Settings(embedded_mongo_cache_gb=1.5))
    arguments = mongod_arguments(tmp_path, 27999, replica_set="rs0", cache_size_gb=cache_gb)

    assert cache_argument(arguments) == "1.5"
    assert origin == "from EMBEDDED_MONGO_CACHE_GB"


def test_without_the_setting_the_cache_is_sized_from_the_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("server.commands.machine_memory_gb", lambda: 24.0)
    cache_gb, origin = embedded_mongo_cache(Settings(embedded_mongo_cache_gb=None))
    arguments = mongod_arguments(tmp_path, 27999, replica_set="rs0", cache_size_gb=cache_gb)

    assert cache_argument(arguments) == "4"
    assert origin == "for 24 GiB of memory"


def test_a_cache_below_the_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="embedded_mongo_cache_gb"):
        Settings(embedded_mongo_cache_gb=0.1)

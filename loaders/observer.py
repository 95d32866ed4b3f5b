"""How loaders report what they read, so a cached query result knows what it depends on."""

from __future__ import annotations

from typing import Protocol


class ReadObserver(Protocol):
    """Told about every lookup a loader makes: collection, the key's field, and the key."""

    def __call__(self, collection: str, key_field: str, key: object) -> None: ...


def ignore_reads(collection: str, key_field: str, key: object) -> None:
    """A `ReadObserver` for callers that do not cache results."""

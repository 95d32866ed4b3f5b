"""A stop-gap `SearchEngine` for the follower's tests until the Tantivy engine is merged: it keeps
documents in a dict and matches whole lower-case words, with the Protocol's commit semantics
(writes invisible until `commit`, the resume point kept with the commit, a directory that
outlives the instance). Only what the follower's tests ask of an engine."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from integrations.search.engine import (
    Position,
    SearchDocument,
    SearchHit,
    SearchPage,
    SearchRequest,
    Suggestion,
)

_WORD = re.compile(r"\w+")


def _words(document: SearchDocument) -> set[str]:
    text = " ".join([document.name, document.description, document.brand, *document.category_names])
    return set(_WORD.findall(text.lower()))


class MemorySearch:
    name = "memory"

    def __init__(self, directory: Path) -> None:
        self._file = directory / "index.json"
        self._committed: dict[str, SearchDocument] = {}
        self._point: str | None = None
        if self._file.exists():
            stored = json.loads(self._file.read_text())
            self._point = stored["resume_point"]
            self._committed = {
                key: SearchDocument(
                    **{
                        **fields,
                        "category_names": tuple(fields["category_names"]),
                        "created_at": datetime.fromisoformat(fields["created_at"]),
                    }
                )
                for key, fields in stored["documents"].items()
            }
        self._writes = dict(self._committed)

    async def search(self, request: SearchRequest) -> SearchPage:
        wanted = set(_WORD.findall(request.text.lower()))
        hits = sorted(
            key for key, document in self._committed.items() if wanted <= _words(document)
        )
        return SearchPage(
            hits=[SearchHit(id=key, position=Position(0, key)) for key in hits[: request.limit]],
            has_more=len(hits) > request.limit,
            total=len(hits),
            facets=None,
        )

    async def suggest(self, prefix: str, limit: int) -> list[Suggestion]:
        return []

    async def upsert(self, documents: list[SearchDocument]) -> None:
        self._writes.update((document.id, document) for document in documents)

    async def delete(self, ids: list[str]) -> None:
        for key in ids:
            self._writes.pop(key, None)

    async def commit(self, resume_point: str | None) -> None:
        self._committed, self._point = dict(self._writes), resume_point
        documents = {key: asdict(document) for key, document in self._committed.items()}
        self._file.write_text(
            json.dumps({"resume_point": resume_point, "documents": documents}, default=str)
        )

    async def resume_point(self) -> str | None:
        return self._point

    async def clear(self) -> None:
        self._writes = {}

    async def close(self) -> None:
        pass

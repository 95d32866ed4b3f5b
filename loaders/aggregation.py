"""Batches aggregation pipelines over one collection into a single command.

Nested connections (the products of each category in a list, say) each need their own keyset
query. This loader gathers every pipeline asked for in one tick and sends them as one aggregation:
the first pipeline, then `$unionWith` for each other one, every row tagged with the pipeline it
came from. Each sub-pipeline keeps its own `$match`/`$sort`/`$limit`, so each still runs on an index.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import bson
from beanie import Document

from loaders.cancellation import CancellationSafeLoader

Pipeline = list[dict[str, Any]]
_BATCH_FIELD = "__batch"
FIRST_BATCH_SIZE = 1000


def _starts_with_text_search(pipeline: Pipeline) -> bool:
    """Whether the first stage matches with `$text`, directly or among its `$and` conditions."""
    match = pipeline[0].get("$match", {}) if pipeline else {}
    conditions = [match, *match.get("$and", [])]
    return any("$text" in condition for condition in conditions)


def _pipeline_key(pipeline: Pipeline) -> bytes:
    """Equal pipelines, equal keys: the pipeline as BSON, exactly what would be sent (ids, dates
    and numbers by type), and a tenth of the CPU of rendering it as extended JSON."""
    return bson.encode({"pipeline": pipeline})


class PipelineLoader(CancellationSafeLoader):
    """Rows of aggregation pipelines over `document`'s collection; equal pipelines run once."""

    def __init__(self, document: type[Document]) -> None:
        super().__init__(get_cache_key=_pipeline_key)
        self._document = document

    async def batch_load_fn(self, pipelines: Sequence[Pipeline]) -> list[list[dict[str, Any]]]:
        collection = self._document.get_pymongo_collection()
        results: list[list[dict[str, Any]]] = [[] for _ in pipelines]
        # $text may only open a top-level pipeline, so text searches run on their own.
        alone = [i for i, pipeline in enumerate(pipelines) if _starts_with_text_search(pipeline)]
        together = [i for i in range(len(pipelines)) if i not in alone]
        if len(together) == 1:
            alone += together
            together = []

        async def run(pipeline: Pipeline) -> list[dict[str, Any]]:
            # The default first batch (101 documents) would cost a getMore for a 100-row page.
            cursor = await collection.aggregate(pipeline, batchSize=FIRST_BATCH_SIZE)
            return await cursor.to_list()

        single_results = await asyncio.gather(*(run(pipelines[i]) for i in alone))
        for index, rows in zip(alone, single_results, strict=True):
            results[index] = rows
        if together:
            first, *rest = together
            union = [*pipelines[first], {"$addFields": {_BATCH_FIELD: first}}]
            for index in rest:
                tagged = [*pipelines[index], {"$addFields": {_BATCH_FIELD: index}}]
                union.append({"$unionWith": {"coll": collection.name, "pipeline": tagged}})
            for row in await run(union):
                results[row.pop(_BATCH_FIELD)].append(row)
        return results

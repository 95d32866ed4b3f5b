"""Serves cacheable queries from the Redis query cache and stores the results of misses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult, FieldNode, OperationType, get_operation_ast
from starlette.types import Scope
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from resolvers.accounts.viewer import viewer_audience
from resolvers.context import Context
from resolvers.query_cache import CacheStatus, Lookup, cache_key
from resolvers.rate_limits import client_network
from schema.observability import request_record

SHAREABLE_STATE_KEY = "shareable_result"
# Root fields whose results are the same for everyone in an audience. A resolver that reads
# private data under one of them must call `ctx.cache_dependencies.private_data()`.
CACHEABLE_ROOT_FIELDS = frozenset(
    {"categories", "category", "product", "products", "node", "nodes", "__typename"}
)


def is_cacheable(execution_context: ExecutionContext) -> bool:
    """A query whose root selections are all public catalog fields."""
    document = execution_context.graphql_document
    if document is None or execution_context.query is None:
        return False
    operation = get_operation_ast(document, execution_context.operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return False
    selections = operation.selection_set.selections
    return all(
        isinstance(selection, FieldNode) and selection.name.value in CACHEABLE_ROOT_FIELDS
        for selection in selections
    )


def mark_shareable(scope: Scope, *, shareable: bool) -> None:
    """Record whether a result of this request is the same for every anonymous caller (a public
    catalog query that read nothing private and has no errors). The HTTP layer lets CDNs cache
    only such answers; one result that is not shareable (of a batch) makes the answer private."""
    state = scope.setdefault("state", {})
    state[SHAREABLE_STATE_KEY] = state.get(SHAREABLE_STATE_KEY, True) and shareable


def is_shareable(scope: Scope) -> bool:
    """Whether every operation of the request was marked shareable (False when none ran)."""
    return bool(scope.get("state", {}).get(SHAREABLE_STATE_KEY, False))


class QueryCacheExtension(SchemaExtension):
    """Reports `extensions.cache`: HIT, MISS, BYPASS or UNAVAILABLE.

    A MISS whose result the client may not store (it created its share of entries this minute)
    reports BYPASS.

    A response with errors reports BYPASS: it is never stored, so asking again will not hit. That
    covers documents that fail to parse or validate (execution, and so the cache, is never
    reached) and results with a resolver error. UNAVAILABLE wins over it: Redis being down is what
    an operator needs to see.
    """

    def __init__(self) -> None:
        super().__init__()
        self._status = CacheStatus.BYPASS

    async def on_execute(self) -> AsyncIterator[None]:
        execution_context = self.execution_context
        ctx: Context = execution_context.context
        try:
            if not ctx.query_cache.enabled or not is_cacheable(execution_context):
                self._status = CacheStatus.BYPASS
                yield
                return
            assert execution_context.query is not None
            try:
                key = cache_key(
                    execution_context.query,
                    execution_context.operation_name,
                    execution_context.variables,
                    await viewer_audience(ctx),
                )
            except TypeError:
                # Variables JSON cannot key on (integers past 64 bits, absurd nesting): run uncached,
                # and let variable coercion report what is wrong with them.
                self._status = CacheStatus.BYPASS
                yield
                return
            lookup: Lookup = await ctx.query_cache.lookup(key)
            self._status = lookup.status
            if lookup.status is CacheStatus.HIT:
                # Strawberry skips execution when an extension has already set the result.
                execution_context.result = ExecutionResult(data=lookup.data)
            yield
            if lookup.status is not CacheStatus.MISS:
                return
            result = execution_context.result
            if not isinstance(result, ExecutionResult) or result.data is None or result.errors:
                self._status = CacheStatus.BYPASS
                return
            self._status = await ctx.query_cache.store(
                key,
                result.data,
                ctx.cache_dependencies,
                lookup.epoch,
                client=client_network(ctx.client_ip),
            )
        finally:
            # A HIT ran nothing, so its dependencies still say "shareable", as when it was stored.
            if ctx.request is not None:
                shareable = is_cacheable(execution_context) and ctx.cache_dependencies.cacheable
                mark_shareable(ctx.request.scope, shareable=shareable)
                record = request_record(ctx.request.scope)
                if record is not None:
                    record.cache_status = str(self._status)

    def get_results(self) -> dict[str, Any]:
        return {"cache": str(self._status)}

"""Serves cacheable queries from the Redis query cache and stores the results of misses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from starlette.types import Scope
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from resolvers.accounts.viewer import viewer_audience
from resolvers.context import Context
from resolvers.query_cache import (
    CacheStatus,
    Lookup,
    StoredAnswer,
    cache_key,
    document_digest,
)
from resolvers.rate_limits import client_network
from schema.answers import public_answer
from schema.cost.extension import price_of
from schema.observability import request_record

SHAREABLE_STATE_KEY = "shareable_result"
# What a request's cache lookup learned about its document, for the fast path (`fast_hits.py`).
KNOWN_DOCUMENT_STATE_KEY = "query_cache_document"
# Set by the fast path when its read of the cache failed: the request's own lookup is skipped
# rather than waiting for a failing Redis a second time.
LOOKUP_FAILED_STATE_KEY = "query_cache_lookup_failed"
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


@dataclass(frozen=True)
class KnownDocument:
    """A document this process has run as a cacheable query: what a request naming it needs to
    find its cached answer without parsing it again."""

    # `document_digest` of its text: what the cache keys it by.
    digest: str
    # The operation a request without `operationName` runs: the document's only one.
    default_operation_name: str | None


def known_document_of(scope: Scope) -> KnownDocument | None:
    """The document of this request's cacheable query, when its answer is (now) in the cache."""
    known: KnownDocument | None = scope.get("state", {}).get(KNOWN_DOCUMENT_STATE_KEY)
    return known


def mark_lookup_failed(scope: Scope) -> None:
    scope.setdefault("state", {})[LOOKUP_FAILED_STATE_KEY] = True


def _lookup_failed(ctx: Context) -> bool:
    return ctx.request is not None and bool(
        ctx.request.scope.get("state", {}).get(LOOKUP_FAILED_STATE_KEY)
    )


def _known_document(execution_context: ExecutionContext) -> KnownDocument:
    assert execution_context.query is not None
    assert execution_context.graphql_document is not None
    operations = [
        definition
        for definition in execution_context.graphql_document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    only = operations[0] if len(operations) == 1 else None
    return KnownDocument(
        digest=document_digest(execution_context.query),
        default_operation_name=only.name.value if only and only.name else None,
    )


def _stored_answer_of(execution_context: ExecutionContext, data: dict[str, Any]) -> StoredAnswer:
    price = price_of(execution_context)
    requested = actual = None
    if price is not None:
        requested = price.requested
        try:
            actual = price.actual(data)
        except Exception:  # pricing must never cost the client the answer; QueryCostExtension logs
            requested = None
    return public_answer(data, requested_cost=requested, actual_cost=actual)


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
            if _lookup_failed(ctx):
                self._status = CacheStatus.UNAVAILABLE
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
                self._known_in(ctx, execution_context)
            if lookup.status is CacheStatus.MISS:
                ctx.cache_dependencies.will_be_stored()
            yield
            if lookup.status is not CacheStatus.MISS:
                return
            result = execution_context.result
            if not isinstance(result, ExecutionResult) or result.data is None or result.errors:
                self._status = CacheStatus.BYPASS
                return
            self._status, stored = await ctx.query_cache.store_answer(
                key,
                _stored_answer_of(execution_context, result.data),
                ctx.cache_dependencies,
                lookup.epoch,
                client=client_network(ctx.client_ip),
            )
            if stored:
                self._known_in(ctx, execution_context)
        finally:
            # A HIT ran nothing, so its dependencies still say "shareable", as when it was stored.
            if ctx.request is not None:
                shareable = is_cacheable(execution_context) and ctx.cache_dependencies.cacheable
                mark_shareable(ctx.request.scope, shareable=shareable)
                record = request_record(ctx.request.scope)
                if record is not None:
                    record.cache_status = str(self._status)

    @staticmethod
    def _known_in(ctx: Context, execution_context: ExecutionContext) -> None:
        if ctx.request is not None:
            state = ctx.request.scope.setdefault("state", {})
            state[KNOWN_DOCUMENT_STATE_KEY] = _known_document(execution_context)

    def get_results(self) -> dict[str, Any]:
        return {"cache": str(self._status)}

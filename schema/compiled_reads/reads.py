"""Anonymous GET catalog queries answered from a compiled plan, without Strawberry's request path.

The endpoint (`schema/http.py`) asks `CompiledReads.data` first for every GET. It answers a
request only when the normal path's answer is sure to be a public `data` with no errors:
- the request: a plain `query` (no persisted document), optional `variables` and
  `operationName`, no Authorization or X-Cart-Token, no streaming Accept, and not under
  TRUSTED_DOCUMENTS_ONLY;
- the document: asked for before (a one-off is left to the normal path), it parses and
  validates with the limits of the schema's extensions, and its operation compiles
  (`plan.py`); both worked out once per document and operation name;
- the run: variables coerce, the cost is within MAX_QUERY_COST and the client's bucket, every
  value completes as graphql-core would complete it, and nothing private was read.
Anything else returns None before anything is charged, and the normal path answers, as before.

What the extensions do for a request, this does the same way: the query cost (priced, drawn
from the bucket, settled on the actual cost), the query cache (looked up under the same key,
a hit's data answered, a miss stored with the tags its reads recorded and taught to the fast
path), the request's record for the log and metrics (operation, cost, cache status).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from graphql import parse
from graphql.execution.values import get_variable_values
from starlette.requests import Request

from resolvers.accounts.viewer import viewer_audience
from resolvers.context import Context
from resolvers.cost_bucket import throttle_client
from resolvers.query_cache import CacheStatus, Lookup, cache_key, document_digest
from resolvers.rate_limits import client_network
from schema.answers import PERSONAL_HEADERS, public_answer
from schema.caching import (
    KNOWN_DOCUMENT_STATE_KEY,
    LOOKUP_FAILED_STATE_KEY,
    KnownDocument,
    mark_shareable,
)
from schema.compiled_reads.plan import compile_operation
from schema.compiled_reads.running import CompiledOperation
from schema.cost import calculator
from schema.cost.calculator import CostUnboundedError, QueryCost
from schema.cost.rules import field_costs
from schema.fast_hits import get_variables
from schema.observability import request_record
from schema.request_context import context_for_request

logger = logging.getLogger(__name__)

# Distinct (document, operation name) pairs each process keeps a plan (or its absence) for.
KNOWN_PLANS = 1024
# Requests (document, operation name, variables) each process keeps the pricing of.
KNOWN_PRICES = 1024
# Longer documents are left to the normal path (and its parser cache).
MAX_COMPILED_DOCUMENT = 8192
# Variables longer than this (a storefront sends a few ids and filters) too.
MAX_COMPILED_VARIABLES = 1024
_PARAMETERS = frozenset({"query", "variables", "operationName"})
_STREAMING_ACCEPTS = ("multipart/mixed", "text/event-stream")


class CompiledReads:
    """One per process: plans by document text and operation name (bounded, least recently used
    first out), and how many requests they answered."""

    def __init__(self, schema: Any, *, trusted_only: bool = False, size: int = KNOWN_PLANS) -> None:
        self._schema = schema
        self._trusted_only = trusted_only
        self._size = size
        self._plans: OrderedDict[tuple[str, str | None], CompiledOperation | None] = OrderedDict()
        # Documents asked for once, not compiled yet.
        self._seen: OrderedDict[tuple[str, str | None], None] = OrderedDict()
        self._prices: OrderedDict[tuple[str, str | None, str], tuple[QueryCost, int | None]]
        self._prices = OrderedDict()
        self.answered = 0

    def plan(self, query: str, operation_name: str | None) -> CompiledOperation | None:
        """The plan of this document's operation, compiled the second time it is asked for;
        None when the normal path must run it (the first time, or it is invalid, or it holds
        what a plan does not answer). A document sent once (a mistyped one, a one-off) is
        parsed and validated by the normal path alone."""
        key = (query, operation_name)
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        if key not in self._seen:
            self._seen[key] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return None
        del self._seen[key]
        plan = self._compile(query, operation_name)
        self._plans[key] = plan
        while len(self._plans) > self._size:
            self._plans.popitem(last=False)
        return plan

    def _compile(self, query: str, operation_name: str | None) -> CompiledOperation | None:
        if len(query) > MAX_COMPILED_DOCUMENT or self._schema.document_errors(query):
            return None
        try:
            return compile_operation(self._schema, parse(query), operation_name)
        except Exception:  # never worse than the normal path, which runs it instead
            logger.exception("could not compile a document; the normal path runs it")
            return None

    async def data(self, request: Request) -> dict[str, Any] | None:
        """The `data` of an anonymous GET's public catalog query, its work recorded as the
        normal path records it; None for the normal path to answer (see the module)."""
        params = request.query_params
        query = params.get("query")
        if (
            self._trusted_only
            or not query
            or not _PARAMETERS.issuperset(params.keys())
            or any(request.headers.get(header) for header in PERSONAL_HEADERS)
            or any(kind in request.headers.get("accept", "") for kind in _STREAMING_ACCEPTS)
        ):
            return None
        raw_variables = params.get("variables", "")
        # Bounded before anything is kept: the maps below hold documents and variables.
        if len(query) > MAX_COMPILED_DOCUMENT or len(raw_variables) > MAX_COMPILED_VARIABLES:
            return None
        variables = get_variables(params)
        if variables is None:
            return None
        operation_name = params.get("operationName")
        if operation_name == "":
            return None
        plan = self.plan(query, operation_name)
        if plan is None:
            return None
        try:
            return await self._run(request, plan, query, operation_name, variables, raw_variables)
        except Exception as error:  # the normal path answers, and reports what it finds
            logger.debug("compiled read left to the normal path: %r", error)
            return None

    async def _run(
        self,
        request: Request,
        plan: CompiledOperation,
        query: str,
        provided_name: str | None,
        variables: dict[str, Any],
        raw_variables: str,
    ) -> dict[str, Any] | None:
        schema = self._schema._schema
        coerced = get_variable_values(schema, plan.operation.variable_definitions or (), variables)
        if isinstance(coerced, list):  # the coercion's errors
            return None
        ctx = context_for_request(request)
        operation_name = provided_name or plan.default_operation_name
        priced = self._price(ctx, plan, query, operation_name, variables, raw_variables)
        if priced is None:
            return None
        cost, requested = priced
        if requested is None or requested > ctx.settings.max_query_cost:
            return None
        status, lookup, key = await self._lookup(ctx, request, query, operation_name, variables)
        bucket = ctx.services.cost_bucket
        client = throttle_client(None, ctx.client_ip)
        # Drawn before any database work, as `QueryCostExtension` draws before execution: a
        # client whose bucket is empty costs MongoDB nothing.
        draw = await bucket.take(client, requested)
        if not draw.allowed:
            return None  # the normal path refuses it, and counts the refusal
        data: dict[str, Any] | None = None
        try:
            if lookup is not None and status is CacheStatus.HIT:
                data = lookup.data
            else:
                data = await plan.data(ctx, coerced)
        finally:
            answered = isinstance(data, dict) and ctx.cache_dependencies.cacheable
            if not answered and draw.status is not None:
                await bucket.settle(client, -requested)  # the normal path draws again
        if not answered or data is None:
            return None
        actual = cost.actual(data)
        if draw.status is not None and actual is not None and actual != requested:
            await bucket.settle(client, actual - requested)
        if lookup is not None and status is CacheStatus.MISS and key is not None:
            status, stored = await ctx.query_cache.store_answer(
                key,
                public_answer(data, requested_cost=requested, actual_cost=actual),
                ctx.cache_dependencies,
                lookup.epoch,
                client=client_network(ctx.client_ip),
            )
            lookup = lookup if stored else None
        if lookup is not None and status in (CacheStatus.HIT, CacheStatus.MISS):
            known = KnownDocument(document_digest(query), plan.default_operation_name)
            request.scope.setdefault("state", {})[KNOWN_DOCUMENT_STATE_KEY] = known
        mark_shareable(request.scope, shareable=True)
        record = request_record(request.scope)
        if record is not None:
            record.operation = operation_name or ""
            record.cost = actual if actual is not None else requested
            record.cache_status = str(status)
        self.answered += 1
        return data

    def _price(
        self,
        ctx: Context,
        plan: CompiledOperation,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any],
        raw_variables: str,
    ) -> tuple[QueryCost, int | None] | None:
        """The operation's pricing and requested cost, as `QueryCostExtension` works them out,
        kept per document, operation and variables: once worked out, a `QueryCost` prices every
        answer of theirs without working anything out again. None for a document too large."""
        key = (query, operation_name, raw_variables)
        priced = self._prices.get(key)
        if priced is not None:
            self._prices.move_to_end(key)
            return priced
        cost = QueryCost(
            self._schema._schema,
            plan.document,
            operation_name,
            variables,
            field_costs(ctx.settings),
            max_work=calculator.MAX_WORK,
        )
        try:
            priced = (cost, cost.requested())
        except CostUnboundedError:
            return None
        self._prices[key] = priced
        while len(self._prices) > KNOWN_PRICES:
            self._prices.popitem(last=False)
        return priced

    async def _lookup(
        self,
        ctx: Context,
        request: Request,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any],
    ) -> tuple[CacheStatus, Lookup | None, str | None]:
        """The query cache's status for this request, as `QueryCacheExtension` finds it, with
        the lookup and key when there is an entry to answer or to fill."""
        if not ctx.query_cache.enabled:
            return CacheStatus.BYPASS, None, None
        if request.scope.get("state", {}).get(LOOKUP_FAILED_STATE_KEY):
            return CacheStatus.UNAVAILABLE, None, None
        try:
            key = cache_key(query, operation_name, variables, await viewer_audience(ctx))
        except TypeError:
            return CacheStatus.BYPASS, None, None
        lookup = await ctx.query_cache.lookup(key)
        if lookup.status is CacheStatus.MISS:
            ctx.cache_dependencies.will_be_stored()
        if lookup.status not in (CacheStatus.HIT, CacheStatus.MISS):
            return lookup.status, None, None
        return lookup.status, lookup, key

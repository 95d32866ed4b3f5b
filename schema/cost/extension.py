"""Prices every operation before it runs; refuses it over MAX_QUERY_COST or over what its client's
bucket holds; reports `extensions.cost` on every response (README, "Query cost")."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from documents.errors import DomainError, ErrorCode
from resolvers.context import Context
from resolvers.cost_bucket import ThrottleStatus, throttle_client
from resolvers.metrics import count_cost_refusal
from schema.cost import calculator
from schema.cost.calculator import CostUnboundedError, QueryCost
from schema.cost.rules import field_costs
from schema.observability import request_record

logger = logging.getLogger(__name__)


class QueryCostTooHighError(DomainError):
    """The operation may cost more than any single query is allowed."""

    def __init__(self, cost: int | None, max_cost: int) -> None:
        described = f"costs {cost}" if cost is not None else "is too large to price"
        super().__init__(
            ErrorCode.QUERY_TOO_COMPLEX,
            f"The query {described}, over the limit of {max_cost}: "
            "ask for smaller pages or fewer nested lists",
            extensions={"cost": cost, "maxCost": max_cost},
        )


class QueryCostThrottledError(DomainError):
    """The client's cost bucket holds less than the operation may cost."""

    def __init__(self, cost: int, available: float, retry_after: int) -> None:
        super().__init__(
            ErrorCode.RATE_LIMITED,
            f"The query costs {cost} and {available:g} points are available; "
            f"try again in {retry_after} seconds",
            extensions={"retryAfter": retry_after},
        )


# Where the price of an operation is kept on its execution context, for the query cache to store
# with a result (a hit is charged what the operation cost when it ran).
_PRICE_ATTRIBUTE = "operation_price"


@dataclass
class OperationPrice:
    """An operation's requested cost, and its actual cost on the data it returned (worked out
    once, whoever asks first)."""

    cost: QueryCost
    requested: int
    _actual: tuple[Mapping[str, Any], int | None] | None = field(default=None, repr=False)

    def actual(self, data: Mapping[str, Any]) -> int | None:
        if self._actual is None or self._actual[0] is not data:
            self._actual = (data, self.cost.actual(data))
        return self._actual[1]


def price_of(execution_context: ExecutionContext) -> OperationPrice | None:
    """The price `QueryCostExtension` put on this operation; None when it was not priced."""
    price: OperationPrice | None = getattr(execution_context, _PRICE_ATTRIBUTE, None)
    return price


def _throttle_status(status: ThrottleStatus | None) -> dict[str, float] | None:
    if status is None:
        return None
    return {
        "maximumAvailable": status.maximum_available,
        "currentlyAvailable": status.currently_available,
        "restoreRate": status.restore_rate,
    }


class QueryCostExtension(SchemaExtension):
    """Listed before the query cache: a refused query touches neither Redis's cache nor MongoDB.

    A refusal is raised from `on_execute` before execution starts; Strawberry answers an error
    raised by a hook as the response's only error, with `data: null`, and runs no resolver.
    """

    def __init__(self) -> None:
        super().__init__()
        self._requested: int | None = None
        self._actual: int | None = None
        self._throttle: ThrottleStatus | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution_context = self.execution_context
        ctx: Context = execution_context.context
        document = execution_context.graphql_document
        assert document is not None  # on_execute runs only for a parsed, valid document
        # The request's log line and metrics name the operation and give its cost.
        record = request_record(ctx.request.scope if ctx.request is not None else None)
        if record is not None:
            record.operation = execution_context.operation_name or ""
        max_cost = ctx.settings.max_query_cost
        cost = QueryCost(
            execution_context.schema._schema,
            document,
            execution_context.operation_name,
            execution_context.variables,
            field_costs(ctx.settings),
            max_work=calculator.MAX_WORK,
        )
        try:
            requested = cost.requested()
        except CostUnboundedError:
            count_cost_refusal("too_complex")
            raise QueryCostTooHighError(None, max_cost) from None
        if requested is None:  # execution refuses it before any work, and says why
            yield
            return
        self._requested = requested
        if record is not None:
            record.cost = requested
        if requested > max_cost:
            count_cost_refusal("too_complex")
            raise QueryCostTooHighError(requested, max_cost)
        price = OperationPrice(cost, requested)
        setattr(execution_context, _PRICE_ATTRIBUTE, price)
        bucket = ctx.services.cost_bucket
        claims = ctx.access_claims
        client = throttle_client(claims.user_id if claims else None, ctx.client_ip)
        draw = await bucket.take(client, requested)
        self._throttle = draw.status
        if not draw.allowed:
            count_cost_refusal("throttled")
            available = draw.status.currently_available if draw.status else 0.0
            raise QueryCostThrottledError(requested, available, draw.retry_after)
        yield
        data = getattr(execution_context.result, "data", None)
        if not isinstance(data, Mapping):
            return
        try:
            actual = self._actual = price.actual(data)
        except Exception:  # pricing the answer must never cost the client the answer
            logger.exception("could not price the result of an operation")
            return
        if record is not None and actual is not None:
            record.cost = actual
        if draw.status is not None and actual is not None and actual != requested:
            settled = await bucket.settle(client, actual - requested)
            self._throttle = settled or self._throttle

    def get_results(self) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": self._requested,
                "actualQueryCost": self._actual,
                "throttleStatus": _throttle_status(self._throttle),
            }
        }

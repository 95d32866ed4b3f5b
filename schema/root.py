"""The root schema: Query composed from per-domain classes, plus the extensions every request runs."""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_validator
from strawberry.types import ExecutionContext

from schema.caching import QueryCacheExtension
from schema.catalog import CatalogQuery
from schema.errors import log_errors
from schema.node import NodeQuery

DOCUMENT_CACHE_SIZE = 1024


@strawberry.type(description="The root of every read.")
class Query(CatalogQuery, NodeQuery):
    pass


class CommerceSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context: Any = execution_context.context if execution_context else None
        log_errors(errors, getattr(context, "request_id", None))


def build_schema(*, max_query_depth: int = 12) -> strawberry.Schema:
    """The API schema. Extensions are factories: Strawberry builds fresh ones per request."""
    # One rule class for the schema's lifetime: the validation cache keys on the rule classes, and
    # `QueryDepthLimiter` would make a new class for every request, so nothing would ever hit.
    depth_rule = create_depth_validator(max_query_depth, should_ignore=None)
    return CommerceSchema(
        query=Query,
        extensions=[
            functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
            functools.partial(AddValidationRules, [depth_rule]),
            functools.partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
            QueryCacheExtension,
        ],
    )

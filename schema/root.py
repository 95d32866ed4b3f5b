"""The root schema: Query composed from per-domain classes, plus the extensions every request runs."""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as create_alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_validator
from strawberry.types import ExecutionContext

from schema.accounts import AccountMutation, AccountQuery
from schema.addresses import AddressMutation
from schema.caching import QueryCacheExtension
from schema.cart import CartMutation, CartQuery
from schema.catalog import CatalogQuery
from schema.catalog_admin.images import CatalogImageMutation
from schema.catalog_admin.operations import CatalogAdminMutation
from schema.catalog_admin.transfer import CatalogTransferMutation, CatalogTransferQuery
from schema.cost.extension import QueryCostExtension
from schema.errors import log_errors
from schema.node import NodeQuery
from schema.orders.checkout import CheckoutMutation
from schema.orders.operations import OrderMutation, OrderQuery
from schema.orders.payments import PaymentMutation
from schema.reviews import ReviewMutation, ReviewQuery

DOCUMENT_CACHE_SIZE = 1024


@strawberry.type(description="The root of every read.")
class Query(
    CatalogQuery,
    AccountQuery,
    CartQuery,
    NodeQuery,
    CatalogTransferQuery,
    OrderQuery,
    ReviewQuery,
):
    pass


@strawberry.type(description="The root of every write.")
class Mutation(
    AccountMutation,
    AddressMutation,
    CartMutation,
    CatalogAdminMutation,
    CatalogImageMutation,
    CatalogTransferMutation,
    OrderMutation,
    CheckoutMutation,
    PaymentMutation,
    ReviewMutation,
):
    pass


class CommerceSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context: Any = execution_context.context if execution_context else None
        log_errors(errors, getattr(context, "request_id", None))


def build_schema(
    *, max_query_depth: int = 12, max_aliases: int = 30, max_tokens: int = 5000
) -> strawberry.Schema:
    """The API schema. Extensions are factories: Strawberry builds fresh ones per request."""
    # One class per rule for the schema's lifetime: the validation cache keys on the rule classes,
    # and `QueryDepthLimiter` / `MaxAliasesLimiter` make new ones per instance, so building them per
    # request would make every request miss the cache.
    limit_rules: list[type[ASTValidationRule]] = [
        create_depth_validator(max_query_depth, should_ignore=None),
        create_alias_validator(max_aliases),
    ]
    return CommerceSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            functools.partial(MaxTokensLimiter, max_token_count=max_tokens),
            functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
            functools.partial(AddValidationRules, limit_rules),
            functools.partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
            # Before the cache: a query refused for its cost reaches neither Redis's cache nor
            # MongoDB (not even the viewer's session).
            QueryCostExtension,
            QueryCacheExtension,
        ],
    )

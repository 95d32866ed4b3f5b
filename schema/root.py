"""The root schema: Query composed from per-domain classes, plus the extensions every request runs."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError, OperationDefinitionNode, parse
from graphql.validation import NoSchemaIntrospectionCustomRule, specified_rules
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
)
from strawberry.extensions.max_aliases import create_validator as create_alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as create_depth_validator
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

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
from schema.execution import FastFieldsExecutionContext
from schema.node import NodeQuery
from schema.orders.checkout import CheckoutMutation
from schema.orders.operations import OrderMutation, OrderQuery
from schema.orders.payments import PaymentMutation
from schema.reviews import ReviewMutation, ReviewQuery
from schema.search import SearchQuery
from schema.validation import BoundedValidationCache, too_many_fields

DOCUMENT_CACHE_SIZE = 1024


@strawberry.type(description="The root of every read.")
class Query(
    CatalogQuery,
    SearchQuery,
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


class OperationNameRequiredError(RuntimeError):
    """A document with several operations and no `operationName` saying which one to run."""


class SpecExecutionContext(ExecutionContext):
    """Picks the operation as the GraphQL specification says: the one `operationName` names, or
    the document's only one. Several operations and no name is an error (Strawberry would run the
    first); raised before validation, so nothing runs and nothing is cached."""

    @property
    def operation_name(self) -> str | None:
        if self._provided_operation_name is not None:
            return self._provided_operation_name
        operations = self._operations()
        if len(operations) == 1 and operations[0].name:
            return operations[0].name.value
        return None

    @property
    def operation_type(self) -> OperationType:
        if self._provided_operation_name is None and len(self._operations()) > 1:
            raise OperationNameRequiredError(
                "The document has several operations: say which one to run in operationName"
            )
        return super().operation_type

    def _operations(self) -> list[OperationDefinitionNode]:
        document = self.graphql_document
        definitions = document.definitions if document else ()
        return [node for node in definitions if isinstance(node, OperationDefinitionNode)]


@dataclasses.dataclass(frozen=True)
class DocumentLimits:
    """What a document may be, whatever its variables: the limit rules (depth, aliases, and
    introspection when it is off) beside the specification's, and its tokens and fields."""

    rules: tuple[type[ASTValidationRule], ...]
    max_tokens: int
    max_fields: int


class CommerceSchema(strawberry.Schema):
    def __init__(self, *, limits: DocumentLimits, **options: Any) -> None:
        super().__init__(**options)
        self.limits = limits

    def document_errors(self, document: str) -> list[GraphQLError]:
        """Why a request with `document` would be refused before running (it does not parse, is
        over a limit, or does not validate); empty if it would run. Requests get these checks
        from the extensions; this runs them once, on a document known ahead (a manifest's)."""
        try:
            parsed = parse(document, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            return [error]
        too_many = too_many_fields(parsed, self.limits.max_fields)
        if too_many is not None:
            return [too_many]
        return validate_document(self._schema, parsed, (*specified_rules, *self.limits.rules))

    def _create_execution_context(  # Strawberry's signature
        self,
        query: str | None,
        allowed_operation_types: Iterable[OperationType],
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionContext:
        return SpecExecutionContext(
            query=query,
            schema=self,
            allowed_operations=allowed_operation_types,
            context=context_value,
            root_value=root_value,
            variables=variable_values,
            provided_operation_name=operation_name,
            operation_extensions=operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context: Any = execution_context.context if execution_context else None
        log_errors(errors, getattr(context, "request_id", None))


def build_schema(
    *,
    max_query_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 5000,
    max_fields: int = 250,
    introspection: bool = True,
    tracer_provider: Any | None = None,
) -> CommerceSchema:
    """The API schema. Extensions are factories: Strawberry builds fresh ones per request.
    Without `introspection`, `__schema` and `__type` fail validation (`__typename` still works).
    With an OpenTelemetry `tracer_provider`, every operation is traced (schema/tracing.py)."""
    # One class per rule for the schema's lifetime: the validation cache keys on the rule classes,
    # and `QueryDepthLimiter` / `MaxAliasesLimiter` make new ones per instance, so building them per
    # request would make every request miss the cache.
    limit_rules: list[type[ASTValidationRule]] = [
        create_depth_validator(max_query_depth, should_ignore=None),
        create_alias_validator(max_aliases),
    ]
    if not introspection:
        limit_rules.append(NoSchemaIntrospectionCustomRule)
    tracing: list[Any] = []
    if tracer_provider is not None:
        # Imported only here: OpenTelemetry is an optional extra.
        from schema.tracing import tracing_extension

        tracing.append(tracing_extension(tracer_provider))
    return CommerceSchema(
        limits=DocumentLimits(tuple(limit_rules), max_tokens=max_tokens, max_fields=max_fields),
        query=Query,
        mutation=Mutation,
        execution_context_class=FastFieldsExecutionContext,
        extensions=[
            # First, so that the operation's span holds every other extension's work.
            *tracing,
            functools.partial(MaxTokensLimiter, max_token_count=max_tokens),
            functools.partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
            functools.partial(AddValidationRules, limit_rules),
            functools.partial(
                BoundedValidationCache, max_fields=max_fields, maxsize=DOCUMENT_CACHE_SIZE
            ),
            # Before the cache: a query refused for its cost reaches neither Redis's cache nor
            # MongoDB (not even the viewer's session).
            QueryCostExtension,
            QueryCacheExtension,
        ],
    )

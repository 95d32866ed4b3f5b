"""Optional OpenTelemetry traces of GraphQL operations (OTEL_ENABLED; the `otel` extra).

Strawberry's OpenTelemetryExtension makes a span per operation, with its parsing, validation and
every resolver that is not a plain attribute under it. Traces are kept free of secrets: the
operation's document is recorded with its literal values blanked (a password typed into the
document stays out), and of resolver arguments only ids, slugs and paging ones are recorded.

Imported only when tracing is on, so a default install needs none of OpenTelemetry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import Any

from graphql import (
    FloatValueNode,
    GraphQLError,
    GraphQLResolveInfo,
    IntValueNode,
    StringValueNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from strawberry.extensions import LifecycleStep, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension

# The service's name in traces unless OTEL_SERVICE_NAME says otherwise.
DEFAULT_SERVICE_NAME = "commerce-api"
# Resolver arguments recorded on their spans; any other (an input with a password, an email)
# is left out.
TRACED_ARGUMENTS = frozenset({"id", "ids", "slug", "first", "last", "after", "before"})


def provider_from_environment() -> TracerProvider:
    """A tracer provider exporting spans in batches over OTLP (HTTP and protobuf), configured by
    the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT), ..._HEADERS,
    OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES. Shut it down to send what is left."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def tracing_extension(provider: trace.TracerProvider) -> Callable[[], SchemaExtension]:
    """The schema extension factory that traces each operation with `provider`."""
    return functools.partial(RedactedOpenTelemetryExtension, tracer_provider=provider)


class RedactedOpenTelemetryExtension(OpenTelemetryExtension):
    """Strawberry's tracing with the document's literals blanked and only harmless resolver
    arguments recorded; the operation's span also carries the request id of the logs."""

    def __init__(self, *, tracer_provider: trace.TracerProvider | None = None) -> None:
        super().__init__(arg_filter=_traced_arguments, tracer_provider=tracer_provider)

    def on_operation(self) -> Generator[None, None, None]:
        steps = super().on_operation()
        next(steps)  # the operation's span is started, with the document as sent
        span = self._span_holder[LifecycleStep.OPERATION]
        query = self.execution_context.query
        if query:
            span.set_attribute("query", redacted_document(query))
        request_id = getattr(self.execution_context.context, "request_id", None)
        if request_id:
            span.set_attribute("commerce.request_id", request_id)
        yield
        next(steps, None)


def _traced_arguments(arguments: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:
    return {name: value for name, value in arguments.items() if name in TRACED_ARGUMENTS}


class _BlankLiterals(Visitor):
    def enter_string_value(self, node: StringValueNode, *_: Any) -> StringValueNode:
        return StringValueNode(value="")

    def enter_int_value(self, node: IntValueNode, *_: Any) -> IntValueNode:
        return IntValueNode(value="0")

    def enter_float_value(self, node: FloatValueNode, *_: Any) -> FloatValueNode:
        return FloatValueNode(value="0.0")


def redacted_document(query: str) -> str:
    """`query` with every string and number literal blanked ("" and 0) and no comments; "" when
    it does not parse."""
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return ""
    return print_ast(visit(document, _BlankLiterals()))

"""OpenTelemetry traces of GraphQL operations: off by default; with OTEL_ENABLED, spans for the
operation, its parsing, validation and resolvers, with no literal or argument that could be a
secret."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette

from schema.root import build_schema
from schema.tracing import RedactedOpenTelemetryExtension, redacted_document
from server.app import create_app
from settings import Settings
from tests.factories import make_category, make_product, make_user

PRODUCT_PAGE = "query ProductPage($slug: String!) { product(slug: $slug) { name } }"
PASSWORD = "a secret passphrase 123"
EMAIL = "traced.person@example.com"
# Credentials typed into the document itself, as someone might in GraphiQL.
INLINE_LOGIN = f"""
mutation SignIn {{
  login(input: {{email: "{EMAIL}", password: "{PASSWORD}"}}) {{ accessToken errors {{ code }} }}
}}
"""


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    yield spans
    spans.clear()


@pytest.fixture
async def traced_client(
    app: Starlette, settings: Settings, exporter: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with OTEL_ENABLED, its spans kept in `exporter`."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced = create_app(
        settings.model_copy(update={"otel_enabled": True}), tracer_provider=provider
    )
    traced.state.settings = app.state.settings
    for name in ("mongo", "redis", "services"):
        setattr(traced.state, name, getattr(app.state, name))
    transport = httpx.ASGITransport(app=traced)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    provider.shutdown()


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


async def test_an_operation_is_traced_with_its_steps_and_resolvers(
    traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    category = await make_category()
    await make_product(category, slug="runner")

    response = await traced_client.post(
        "/graphql",
        json={"query": PRODUCT_PAGE, "variables": {"slug": "runner"}},
        headers={"x-request-id": "traced-1"},
    )

    assert response.json()["data"]["product"]["name"]
    spans = by_name(exporter.get_finished_spans())
    assert {
        "GraphQL Query: ProductPage",
        "GraphQL Parsing",
        "GraphQL Validation",
        "GraphQL Resolving: product",
    } <= set(spans)
    operation = spans["GraphQL Query: ProductPage"]
    assert operation.attributes is not None
    assert operation.attributes["commerce.request_id"] == "traced-1"
    assert "product(slug: $slug)" in str(operation.attributes["query"])
    for step in ("GraphQL Parsing", "GraphQL Validation", "GraphQL Resolving: product"):
        parent = spans[step].parent
        assert parent is not None
        assert parent.span_id == operation.context.span_id
    resolver = spans["GraphQL Resolving: product"].attributes
    assert resolver is not None
    assert resolver["graphql.param.slug"] == "runner"


async def test_no_literal_or_argument_that_may_be_a_secret_is_traced(
    traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    await make_user(EMAIL, password=PASSWORD)

    signed_in = await traced_client.post("/graphql", json={"query": INLINE_LOGIN})
    by_variables = await traced_client.post(
        "/graphql",
        json={
            "query": "mutation SignIn($input: LoginInput!) { login(input: $input) { accessToken } }",
            "variables": {"input": {"email": EMAIL, "password": PASSWORD}},
        },
    )

    token = signed_in.json()["data"]["login"]["accessToken"]
    assert token
    assert by_variables.json()["data"]["login"]["accessToken"]
    spans = exporter.get_finished_spans()
    assert "GraphQL Resolving: login" in by_name(spans)
    recorded = repr([(span.name, dict(span.attributes or {})) for span in spans])
    for secret in (EMAIL, PASSWORD, token):
        assert secret not in recorded
    inline, _ = [span for span in spans if span.name == "GraphQL Query: SignIn"]
    assert inline.attributes is not None
    assert 'login(input: { email: "", password: "" })' in str(inline.attributes["query"])


def test_literals_are_blanked_and_comments_dropped() -> None:
    document = '{ products(first: 10, filter: {minPrice: 9.5, brand: "Acme"}) { totalCount } } # hi'

    assert redacted_document(document) == (
        '{\n  products(first: 0, filter: { minPrice: 0.0, brand: "" }) {\n    totalCount\n  }\n}'
    )
    assert redacted_document("{ not valid") == ""


def test_tracing_is_off_unless_enabled(app: Starlette, settings: Settings) -> None:
    assert settings.otel_enabled is False
    untraced = build_schema()
    traced = build_schema(tracer_provider=TracerProvider())

    def traces(schema: object) -> bool:
        extensions = getattr(schema, "extensions", [])
        return any(
            getattr(extension, "func", extension) is RedactedOpenTelemetryExtension
            for extension in extensions
        )

    assert not traces(untraced)
    assert traces(traced)

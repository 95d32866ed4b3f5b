"""The one way an HTTP request gets its resolver context: `/graphql`, the Google redirect routes,
the product export, and any route added later (payment webhooks) alike."""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from resolvers.context import Context, new_context
from resolvers.services import Services
from settings import Settings


def request_id_of(connection: HTTPConnection) -> str:
    """The id `RequestIdMiddleware` gave this request ("" for a request that bypassed it)."""
    request_id: str = connection.scope.get("state", {}).get("request_id", "")
    return request_id


def context_for_request(connection: HTTPConnection, response: Response | None = None) -> Context:
    """A fresh context for this request, with its request id, client, bearer token and the app's
    settings and services. Pass `response` when resolvers may set cookies or background work."""
    settings: Settings = connection.app.state.settings
    services: Services = connection.app.state.services
    return new_context(
        settings=settings,
        services=services,
        request_id=request_id_of(connection),
        request=connection if isinstance(connection, Request) else None,
        response=response,
    )

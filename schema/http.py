"""The `/graphql` endpoint: builds each request's context and answers HTTP errors as JSON."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from resolvers.context import Context
from schema.errors import to_api_error
from schema.middleware import RequestBodyTooLargeError
from schema.request_context import context_for_request, request_id_of
from settings import Settings

HTTP_ERROR_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
logger = logging.getLogger("commerce.http")


# A browser sends a multipart form to any site without asking first; a custom header makes it ask
# (a CORS preflight), so another site cannot upload with the user's cookies. Apollo's clients send it.
_PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")


def _refuse_simple_multipart(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/") and not any(
        request.headers.get(header) for header in _PREFLIGHT_HEADERS
    ):
        raise HTTPException(
            400, "Multipart requests need an Apollo-Require-Preflight header (CSRF protection)"
        )


def _error_response(message: str, code: str, status: int, **extensions: str) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return JSONResponse(body, status_code=status)


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context, orjson encoding and JSON error bodies."""

    def __init__(self, schema: Any, *, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            multipart_uploads_enabled=True,
        )
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            _refuse_simple_multipart(request)
            response = await self.run(request)
        except RequestBodyTooLargeError:
            raise  # the body-size middleware answers it
        except HTTPException as error:
            # Strawberry answers transport errors in plain text; clients expect GraphQL errors.
            code = HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
            response = _error_response(error.reason, code, error.status_code)
        except Exception:
            request_id = request_id_of(request)
            logger.exception("unexpected error handling request %s", request_id)
            response = _error_response(
                "Internal server error", "INTERNAL_SERVER_ERROR", 500, requestId=request_id
            )
        await response(scope, receive, send)

    def parse_json(self, data: str | bytes) -> Any:
        """A JSON object (or a list of them); anything else is the client's mistake."""
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:  # also raised for bytes that are not UTF-8
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        items = parsed if isinstance(parsed, list) else [parsed]
        if not items or not all(isinstance(item, dict) for item in items):
            raise HTTPException(400, "Expected a JSON object")
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return context_for_request(request, response if isinstance(response, Response) else None)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            request_id = request_id_of(request)
            result.errors = [to_api_error(error, request_id) for error in result.errors]
        return await super().process_result(request, result)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

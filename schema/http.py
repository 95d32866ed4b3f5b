"""The `/graphql` endpoint: builds each request's context and answers HTTP errors as JSON.

An answer with a `SERVICE_UNAVAILABLE` error (MongoDB unreachable or too slow) has HTTP status 503,
so load balancers, proxies and clients see an outage, not a success.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import ExecutionResult

from documents.accounts import Role
from documents.errors import (
    SERVICE_UNAVAILABLE_MESSAGE,
    DomainError,
    ErrorCode,
    database_unavailable,
)
from resolvers.accounts.viewer import current_viewer
from resolvers.context import Context
from resolvers.persisted_queries import PersistedQueryCode
from resolvers.rate_limits import client_network
from schema.answers import (
    GRAPHQL_VARY,
    GZIP_MINIMUM_BYTES,
    PERSONAL_HEADERS,
    PRIVATE_CACHE_CONTROL,
    body_digest,
    etag,
    etag_matches,
    is_gzipped,
    public_body,
    public_cache_control,
)
from schema.caching import is_shareable, known_document_of, mark_shareable
from schema.compiled_reads.reads import CompiledReads
from schema.errors import to_api_error
from schema.fast_hits import FastHits
from schema.graphiql.page import graphiql_page
from schema.middleware import (
    NO_STORE,
    RETRY_AFTER_SECONDS,
    RequestBodyTooLargeError,
    body_limit_of,
    error_response,
)
from schema.observability import request_record
from schema.persisted_queries import lift_document_id, resolve_persisted_query
from schema.request_context import context_for_request, request_id_of
from schema.root import OperationNameRequiredError
from schema.trusted_documents import TrustedDocuments
from settings import Settings

HTTP_ERROR_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
# GraphQL answers with one of these errors get its HTTP status (else 200).
ERROR_STATUSES = {
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    PersistedQueryCode.PERSISTED_QUERY_ID_REQUIRED: 400,
    PersistedQueryCode.PERSISTED_QUERY_NOT_IN_LIST: 404,
}
NO_GRAPHIQL_FOR_TRUSTED_DOCUMENTS = (
    "GraphiQL is not served: this API runs only the trusted documents of its manifest "
    "(TRUSTED_DOCUMENTS_ONLY)"
)
NO_GRAPHIQL_WHEN_OFF = (
    "GraphiQL is not served: GRAPHIQL is off (unset, it is off in production). "
    "Queries over GET and POST to this URL work as usual"
)
logger = logging.getLogger("commerce.http")


# A browser sends a multipart form to any site without asking first; a custom header makes it ask
# (a CORS preflight), so another site cannot upload with the user's cookies. Apollo's clients send it.
_PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/")


def _refuse_simple_multipart(request: Request) -> None:
    if _is_multipart(request) and not any(
        request.headers.get(header) for header in _PREFLIGHT_HEADERS
    ):
        raise HTTPException(
            400, "Multipart requests need an Apollo-Require-Preflight header (CSRF protection)"
        )


def upload_body_limit(settings: Settings, role: Role | None) -> int:
    """The largest multipart body a caller may send: an admin's uploads (images, product imports)
    up to MAX_REQUEST_BYTES, a user's avatar with a JSON-sized envelope, and for anyone else no
    more than any other body (nothing they may call takes a file)."""
    if role is Role.ADMIN:
        return settings.max_request_bytes
    if role is not None:
        avatar = settings.avatar_max_bytes + settings.max_json_request_bytes
        return min(settings.max_request_bytes, avatar)
    return settings.max_json_request_bytes


def _reason(error: HTTPException) -> str:
    # Strawberry words a missing operationName as "Can't get GraphQL operation type".
    cause = error.__cause__
    if isinstance(cause, CannotGetOperationTypeError) and isinstance(
        cause.__cause__, OperationNameRequiredError
    ):
        return str(cause.__cause__)
    return error.reason


def _decode_json(data: str | bytes) -> Any:
    """A JSON object (or a list of them); anything else is the client's mistake."""
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:  # also raised for bytes that are not UTF-8
        raise HTTPException(400, "Unable to parse request body as JSON") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items or not all(isinstance(item, dict) for item in items):
        raise HTTPException(400, "Expected a JSON object")
    return parsed


def _has_error_code(response_data: object, code: str) -> bool:
    """Whether any result (one, or each of a batch) has a top-level error with `code`."""
    results = response_data if isinstance(response_data, list) else [response_data]
    return any(
        (error.get("extensions") or {}).get("code") == code
        for result in results
        if isinstance(result, dict)
        for error in result.get("errors") or ()
    )


def database_outage_response(request: Request, error: Exception) -> Response:
    """For routes other than `/graphql` (an export, a callback): MongoDB unreachable or too slow
    is a 503 with `SERVICE_UNAVAILABLE`; any other database error stays a server fault."""
    if not database_unavailable(error):
        raise error
    request_id = request_id_of(request)
    logger.warning("MongoDB unavailable in request %s: %s", request_id, error)
    return error_response(
        SERVICE_UNAVAILABLE_MESSAGE, ErrorCode.SERVICE_UNAVAILABLE, 503, requestId=request_id
    )


def not_found_response(request: Request, error: Exception) -> Response:
    """Any route's 404 (no such path, no such file, a GraphiQL file of another build) as JSON
    with `NOT_FOUND`, like every other error, and kept by no cache: the path may exist later."""
    message = error.detail if isinstance(error, StarletteHTTPException) else "Not Found"
    return error_response(message, "NOT_FOUND", 404, headers=NO_STORE)


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context, orjson encoding and JSON error bodies."""

    def __init__(
        self,
        schema: Any,
        *,
        settings: Settings,
        trusted_documents: TrustedDocuments | None = None,
        fast_hits: FastHits | None = None,
        compiled_reads: CompiledReads | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.serves_graphiql else None,
            multipart_uploads_enabled=True,
        )
        self.settings = settings
        self.trusted_documents = trusted_documents or TrustedDocuments()
        # Taught every document whose public answer this endpoint sends, so that the next
        # requests for it are answered before GraphQL when they hit the cache.
        self.fast_hits = fast_hits
        # Answers the anonymous GET catalog queries it has a plan for (COMPILED_READS).
        self.compiled_reads = compiled_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # HEAD is answered as GET would be (a CDN may probe with it); the server sends no body.
        as_get = {**scope, "method": "GET"} if scope["method"] == "HEAD" else scope
        request = Request(scope=as_get, receive=receive)
        try:
            _refuse_simple_multipart(request)
            await self._admit_uploads(request)
            compiled = await self._compiled_data(request) if scope["method"] == "GET" else None
            if compiled is not None:
                await self._public_response(request, compiled)(scope, receive, send)
                return
            response = await self.run(request)
        except RequestBodyTooLargeError:
            raise  # the body-size middleware answers it
        except HTTPException as error:
            # Strawberry answers transport errors in plain text; clients expect GraphQL errors.
            code = HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
            response = error_response(_reason(error), code, error.status_code)
        except StarletteHTTPException as error:
            # Starlette's form parser refuses a malformed multipart body this way.
            code = HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
            response = error_response(error.detail, code, error.status_code)
        except Exception as error:
            if database_unavailable(error):
                response = database_outage_response(request, error)
            else:
                request_id = request_id_of(request)
                logger.exception("unexpected error handling request %s", request_id)
                response = error_response(
                    "Internal server error", "INTERNAL_SERVER_ERROR", 500, requestId=request_id
                )
        await self._cache_headers(request, response)(scope, receive, send)

    def _cache_headers(self, request: Request, response: Response) -> Response:
        """Let CDNs and browsers cache an anonymous, shareable GET answer (`public`, with an ETag,
        304 on a matching If-None-Match); everything else is `private, no-store`.

        A shared answer carries only `data`: `extensions` describe one request (cache status) and
        one client (its query-cost budget). Its strong ETag is a hash of exactly that body, and
        of the encoding GZipMiddleware will give it.
        """
        if "cache-control" in response.headers:  # the GraphiQL page decides its own
            return response
        response.headers["Vary"] = GRAPHQL_VARY
        answer = orjson.loads(response.body) if self._is_public(request, response) else None
        if not isinstance(answer, dict) or answer.get("data") is None or "errors" in answer:
            response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
            return response
        return self._public_response(request, answer["data"])

    async def _compiled_data(self, request: Request) -> dict[str, Any] | None:
        if self.compiled_reads is None:
            return None
        return await self.compiled_reads.data(request)

    def _public_response(self, request: Request, data: Any) -> Response:
        """The public answer of a shareable GET's `data` (see `_cache_headers`)."""
        known = known_document_of(request.scope)
        if self.fast_hits is not None and known is not None:
            self.fast_hits.learn(request.query_params, known)
        body = public_body(data)
        gzipped = is_gzipped(len(body), request.headers.get("accept-encoding", ""))
        headers = {
            "Cache-Control": public_cache_control(self.settings),
            "ETag": etag(body_digest(body), gzipped=gzipped),
            "Vary": GRAPHQL_VARY,
        }
        if etag_matches(request.headers.get("if-none-match", ""), headers["ETag"]):
            # A 304 has the Vary its 200 would have (RFC 9110, 15.4.5). GZipMiddleware adds
            # Accept-Encoding to a body as large as this one, with or without gzip; a 304 has
            # none, so it is added here.
            if len(body) >= GZIP_MINIMUM_BYTES:
                headers["Vary"] = f"{GRAPHQL_VARY}, Accept-Encoding"
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    def _is_public(self, request: Request, response: Response) -> bool:
        return (
            request.method == "GET"
            and response.status_code == 200
            and response.media_type == "application/json"
            and not any(request.headers.get(header) for header in PERSONAL_HEADERS)
            and is_shareable(request.scope)
        )

    async def _admit_uploads(self, request: Request) -> None:
        """Raise this request's body limit to what its caller may upload, before the body is read.

        Only multipart requests carry files, and only signed-in callers may upload, so the session
        is checked first; anyone else stays at MAX_JSON_REQUEST_BYTES and a large anonymous upload
        is refused from its Content-Length, unread. The lookup is kept for the request's context.
        """
        if not _is_multipart(request):
            return
        probe = context_for_request(request)
        viewer = await current_viewer(probe)
        request.state.viewer_lookup = probe.viewer_lookup
        body_limit_of(request).max_bytes = upload_body_limit(
            self.settings, viewer.user.role if viewer else None
        )

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET carrying only a persisted document's id (`documentId`, or a hash in `extensions`)
        # is an operation.
        if any(name in request.query_params for name in ("extensions", "documentId")):
            return False
        wants_page = super().should_render_graphql_ide(request)
        # Strawberry's answer without a page is a bare "Not Found": say why there is none.
        if wants_page and self.trusted_documents.only:
            raise HTTPException(404, NO_GRAPHIQL_FOR_TRUSTED_DOCUMENTS)
        if wants_page and not self.settings.serves_graphiql:
            raise HTTPException(404, NO_GRAPHIQL_WHEN_OFF)
        return wants_page

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our page (schema/graphiql/), all of it from this origin, instead of Strawberry's.
        return graphiql_page()

    def parse_json(self, data: str | bytes) -> Any:
        """A request body: a JSON object (or a list of them), a `documentId` read as the
        persisted query it names."""
        parsed = _decode_json(data)
        if isinstance(parsed, list):
            return [lift_document_id(item) for item in parsed]
        return lift_document_id(parsed)

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        """A GET's parameters, `variables` and `extensions` decoded, a `documentId` read as the
        persisted query it names."""
        decoded = dict(params)
        for name in ("variables", "extensions"):
            if decoded.get(name):
                decoded[name] = _decode_json(decoded[name])
        return lift_document_id(decoded)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        context = context_for_request(request, response if isinstance(response, Response) else None)
        context.viewer_lookup = getattr(request.state, "viewer_lookup", None)
        record = request_record(request.scope)
        if record is not None and context.access_claims is not None:
            record.user_id = str(context.access_claims.user_id)  # the id only: never an email
        return context

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Runs one operation, its document resolved first from `extensions.persistedQuery`
        (schema/persisted_queries.py); a registered document is stored once it parsed and
        validated (it has data), so the store holds only documents that run."""
        store = context.services.persisted_queries
        try:
            resolved = await resolve_persisted_query(store, self.trusted_documents, request_data)
        except DomainError as error:
            return ExecutionResult(
                data=None, errors=[GraphQLError(error.message, original_error=error)]
            )
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, resolved.request_data
        )
        if resolved.register_as is not None and result.data is not None:
            assert resolved.request_data.query is not None
            await store.register(
                resolved.register_as,
                resolved.request_data.query,
                client=client_network(context.client_ip),
            )
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            mark_shareable(request.scope, shareable=False)
            request_id = request_id_of(request)
            hide_suggestions = not self.settings.suggests_fields
            result.errors = [
                to_api_error(error, request_id, hide_suggestions=hide_suggestions)
                for error in result.errors
            ]
        return await super().process_result(request, result)

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        for code, status in ERROR_STATUSES.items():
            if _has_error_code(response_data, code):
                response.status_code = status
                if status == 503:
                    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
                break
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

"""One policy for GraphQL errors: every error gets `extensions.code`; unexpected ones are masked.

Domain errors keep their message and code. Parse and validation failures, and variables that do not
fit their types, are the client's to fix. Anything else raised while resolving a field is a server
fault: the client sees only `INTERNAL_SERVER_ERROR` and the request id, and the server log has the
details under that id. MongoDB that cannot be reached or does not answer in time is not a fault of
the request: `SERVICE_UNAVAILABLE` (retryable; the endpoint answers it with HTTP 503), masked the
same way. The endpoint applies `to_api_error` to every result it sends, whichever stage of
Strawberry produced the error.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.exceptions import StrawberryInputCoercionError

from documents.errors import (
    SERVICE_UNAVAILABLE_MESSAGE,
    DomainError,
    ErrorCode,
    database_unavailable,
)

logger = logging.getLogger("commerce.graphql")

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
# What the depth, alias and token limits say; they are the only rules that say it.
_LIMIT_MESSAGES = (
    "exceeds maximum operation depth",
    "aliases found. Allowed",
    "tokens. Parsing aborted",
)
_VARIABLE_COERCION_PREFIX = "Variable '$"
# GraphQL-core ends messages about unknown fields, arguments, types, input fields and enum values
# with " Did you mean 'x' or 'y'?": a way to map a schema whose introspection is off.
_SUGGESTION = re.compile(r"\s*Did you mean .*\Z", re.DOTALL)


def _database_outage(error: GraphQLError) -> bool:
    original = error.original_error
    return (
        original is not None
        and not isinstance(original, DomainError)
        and database_unavailable(original)
    )


def error_code(error: GraphQLError) -> str:
    """The `extensions.code` of an error as GraphQL-core or a resolver raised it."""
    original = error.original_error
    if isinstance(original, DomainError):
        return str(original.code)
    if isinstance(original, StrawberryInputCoercionError):
        return ErrorCode.BAD_USER_INPUT
    if _database_outage(error):
        return ErrorCode.SERVICE_UNAVAILABLE
    if any(message in error.message for message in _LIMIT_MESSAGES):
        return ErrorCode.QUERY_TOO_COMPLEX
    if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
        return PARSE_FAILED
    if error.path is None:
        if error.message.startswith(_VARIABLE_COERCION_PREFIX):
            return ErrorCode.BAD_USER_INPUT
        if original is None:  # raised by a validation rule
            return VALIDATION_FAILED
    return INTERNAL_SERVER_ERROR


def log_errors(errors: list[GraphQLError], request_id: str | None) -> None:
    """Log unexpected errors with their traceback, a database outage in one line (an outage, not
    a bug: no traceback per request), expected errors only at debug level."""
    for error in errors:
        if _database_outage(error):
            logger.warning(
                "MongoDB unavailable in request %s at %s: %s",
                request_id,
                error.path,
                error.message,
            )
        elif error_code(error) == INTERNAL_SERVER_ERROR:
            cause = error.original_error or error
            logger.error(
                "unexpected error in request %s at %s: %s",
                request_id,
                error.path,
                error.message,
                exc_info=(type(cause), cause, cause.__traceback__),
            )
        else:
            logger.debug("client error in request %s: %s", request_id, error.message)


def to_api_error(
    error: GraphQLError, request_id: str, *, hide_suggestions: bool = False
) -> GraphQLError:
    """The error as the client may see it: with a code, masked when unexpected, and without
    GraphQL-core's "Did you mean ...?" suggestions when `hide_suggestions`."""
    code = error_code(error)
    extensions: dict[str, Any] = {**(error.extensions or {}), "code": code}
    message = error.message
    if hide_suggestions and not isinstance(error.original_error, DomainError):
        message = _SUGGESTION.sub("", message)
    if isinstance(error.original_error, DomainError):
        extensions.update(error.original_error.extensions)
        if error.original_error.field:
            extensions["field"] = error.original_error.field
    if code == INTERNAL_SERVER_ERROR:
        message = "Internal server error"
        extensions = {"code": code, "requestId": request_id}
    elif _database_outage(error):
        # PyMongo's message describes the servers and the topology: for the log only.
        message = SERVICE_UNAVAILABLE_MESSAGE
        extensions = {"code": code, "requestId": request_id}
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )

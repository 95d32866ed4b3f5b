"""Domain errors carry a machine-readable code; the GraphQL layer turns them into API errors."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from pymongo.errors import ConnectionFailure, PyMongoError

SERVICE_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; try again shortly"


class ErrorCode(enum.StrEnum):
    """Codes for errors a client cannot fix by changing a mutation's input fields."""

    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    # Retryable: a store the request needs did not answer in time (HTTP 503).
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class DomainError(Exception):
    """An expected failure with a stable code. The message is safe to show to a client."""

    def __init__(
        self,
        code: enum.StrEnum,
        message: str,
        *,
        field: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.extensions = extensions or {}


class InvalidFieldsError(DomainError):
    """Several fields of a form are wrong: each problem is reported. It carries the first one's
    code, message and field for code that reports a single error."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        if not errors:
            raise ValueError("an InvalidFieldsError needs at least one error")
        first = errors[0]
        super().__init__(first.code, first.message, field=first.field)
        self.errors = list(errors)


class InvalidInputError(DomainError):
    """Malformed arguments: reported as a top-level error with code BAD_USER_INPUT."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(ErrorCode.BAD_USER_INPUT, message, field=field)


class NotAuthenticatedError(DomainError):
    def __init__(self, message: str = "Sign in to do this") -> None:
        super().__init__(ErrorCode.UNAUTHENTICATED, message)


class ForbiddenError(DomainError):
    def __init__(self, message: str = "You are not allowed to do this") -> None:
        super().__init__(ErrorCode.FORBIDDEN, message)


class RateLimitedError(DomainError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            ErrorCode.RATE_LIMITED,
            f"Too many attempts; try again in {retry_after_seconds} seconds",
            extensions={"retryAfter": retry_after_seconds},
        )


class ServiceUnavailableError(DomainError):
    """A store the operation needs could not be reached or did not answer in time. Retryable."""

    def __init__(self, message: str = SERVICE_UNAVAILABLE_MESSAGE) -> None:
        super().__init__(ErrorCode.SERVICE_UNAVAILABLE, message)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says MongoDB could not be reached or did not answer in time (no server
    selected, a connection lost or timed out, an operation or transaction over its time limit),
    rather than that the request itself was wrong."""
    return isinstance(error, ConnectionFailure) or (
        isinstance(error, PyMongoError) and error.timeout
    )

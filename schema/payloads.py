"""Turns the domain errors a user can fix into a mutation payload's `errors` list."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from documents.errors import DomainError, ErrorCode, InvalidFieldsError

P = ParamSpec("P")
PayloadT = TypeVar("PayloadT")


def user_errors(
    payload: Callable[..., PayloadT], error_type: Callable[..., Any]
) -> Callable[[Callable[P, Awaitable[PayloadT]]], Callable[P, Awaitable[PayloadT]]]:
    """Wrap a mutation resolver: a domain error with a domain code becomes
    `payload(errors=[error_type(field, code, message)])` (one per problem of a
    `InvalidFieldsError`); the codes of `ErrorCode`
    (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, BAD_USER_INPUT ...) stay top-level errors."""

    def decorate(resolver: Callable[P, Awaitable[PayloadT]]) -> Callable[P, Awaitable[PayloadT]]:
        @functools.wraps(resolver)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> PayloadT:
            try:
                return await resolver(*args, **kwargs)
            except DomainError as error:
                if isinstance(error.code, ErrorCode):
                    raise
                problems = error.errors if isinstance(error, InvalidFieldsError) else [error]
                return payload(errors=[_user_error(error_type, problem) for problem in problems])

        return wrapper

    return decorate


def _user_error(error_type: Callable[..., Any], error: DomainError) -> Any:
    """The payload error for `error`; an error type with details beyond field, code and message
    (a new total, the short lines) builds itself with `from_domain`."""
    from_domain = getattr(error_type, "from_domain", None)
    if from_domain is not None:
        return from_domain(error)
    return error_type(field=error.field, code=error.code, message=error.message)

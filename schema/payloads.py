"""Turns the domain errors a user can fix into a mutation payload's `errors` list."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from documents.errors import DomainError, ErrorCode

P = ParamSpec("P")
PayloadT = TypeVar("PayloadT")


def user_errors(
    payload: Callable[..., PayloadT], error_type: Callable[..., Any]
) -> Callable[[Callable[P, Awaitable[PayloadT]]], Callable[P, Awaitable[PayloadT]]]:
    """Wrap a mutation resolver: a domain error with a domain code becomes
    `payload(errors=[error_type(field, code, message)])` (or `error_type.from_domain_error(error)`
    where an error type carries more, such as `CartError.available`); the codes of `ErrorCode`
    (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, BAD_USER_INPUT ...) stay top-level errors."""

    def decorate(resolver: Callable[P, Awaitable[PayloadT]]) -> Callable[P, Awaitable[PayloadT]]:
        @functools.wraps(resolver)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> PayloadT:
            try:
                return await resolver(*args, **kwargs)
            except DomainError as error:
                if isinstance(error.code, ErrorCode):
                    raise
                build = getattr(error_type, "from_domain_error", None)
                if build is not None:
                    return payload(errors=[build(error)])
                return payload(
                    errors=[error_type(field=error.field, code=error.code, message=error.message)]
                )

        return wrapper

    return decorate

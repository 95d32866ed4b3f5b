"""The per-request context every resolver receives. Later capabilities add fields here."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from loaders.registry import Loaders, build_loaders
from resolvers.query_cache import PUBLIC_AUDIENCE, CacheDependencies, QueryCache
from settings import Settings


@dataclass
class Context:
    """What one GraphQL request may use. Build it with `new_context`, never share it."""

    settings: Settings
    request_id: str
    query_cache: QueryCache
    cache_dependencies: CacheDependencies
    loaders: Loaders
    request: Request | None = None
    response: Response | None = None
    # Who the response is for: cached results are shared only within one audience.
    audience: str = PUBLIC_AUDIENCE


def new_context(
    *,
    settings: Settings,
    query_cache: QueryCache,
    request_id: str,
    request: Request | None = None,
    response: Response | None = None,
) -> Context:
    """A fresh context: new loaders that report their reads to this request's cache dependencies."""
    dependencies = CacheDependencies()
    return Context(
        settings=settings,
        request_id=request_id,
        query_cache=query_cache,
        cache_dependencies=dependencies,
        loaders=build_loaders(dependencies),
        request=request,
        response=response,
    )

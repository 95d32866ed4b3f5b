"""The per-request context every resolver receives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import Response

from documents.accounts import AccountError, AuthSession, User
from loaders.category_cache import CategoryCache
from loaders.registry import Loaders, build_loaders
from resolvers.accounts.access_tokens import AccessClaims
from resolvers.query_cache import CacheDependencies, QueryCache
from resolvers.services import Services
from settings import Settings


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a request and the session their access token belongs to."""

    user: User
    session: AuthSession


@dataclass
class Context:
    """What one GraphQL request may use. Build it with `new_context`, never share it."""

    settings: Settings
    services: Services
    request_id: str
    cache_dependencies: CacheDependencies
    loaders: Loaders
    client_ip: str = ""
    user_agent: str = ""
    request: Request | None = None
    response: Response | None = None
    # The bearer token's claims, checked for signature and expiry only; `viewer` checks the rest.
    access_claims: AccessClaims | None = None
    access_error: AccountError | None = None
    # The one lookup of the viewer, shared by every field that asks while it is in flight.
    viewer_lookup: asyncio.Future[Viewer | None] | None = field(default=None, repr=False)
    # Work to do after the response is sent (emails); None outside an HTTP request.
    background: BackgroundTasks | None = None

    @property
    def query_cache(self) -> QueryCache:
        return self.services.query_cache

    def cookie(self, name: str) -> str | None:
        """A cookie of this request. Reading one makes the result private: the HTTP layer lets
        CDNs cache GET answers whatever cookies the browser sends, because nothing else reads them.
        """
        self.cache_dependencies.private_data()
        return self.request.cookies.get(name) if self.request is not None else None


def new_context(
    *,
    settings: Settings,
    services: Services,
    request_id: str,
    request: Request | None = None,
    response: Response | None = None,
) -> Context:
    """A fresh context: new loaders, and the bearer token (if any) verified."""
    dependencies = CacheDependencies()
    context = Context(
        settings=settings,
        services=services,
        request_id=request_id,
        cache_dependencies=dependencies,
        loaders=build_loaders(dependencies, _kept_categories(services.categories, dependencies)),
        request=request,
        response=response,
    )
    if response is not None:
        context.background = response.background = BackgroundTasks()
    if request is not None:
        context.client_ip = request.client.host if request.client else ""
        context.user_agent = request.headers.get("user-agent", "")[:512]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            try:
                context.access_claims = services.access_tokens.verify(token.strip())
            except AccountError as error:
                context.access_error = error
    return context


def _kept_categories(
    categories: CategoryCache, dependencies: CacheDependencies
) -> Callable[[], CategoryCache | None]:
    """The categories the process keeps, for a request that may read them now: while their
    change stream is followed, and for a result the query cache will not store."""

    def kept() -> CategoryCache | None:
        if not categories.live or not dependencies.claim_kept_copies():
            return None
        return categories

    return kept

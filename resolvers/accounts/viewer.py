"""Who is calling: the access token's session and user, checked against the database."""

from __future__ import annotations

import asyncio

from documents.accounts import Role
from documents.errors import ForbiddenError, NotAuthenticatedError
from resolvers.context import Context, Viewer
from resolvers.query_cache import ANONYMOUS_AUDIENCE


async def current_viewer(ctx: Context) -> Viewer | None:
    """The signed-in user, or None. A revoked session or a disabled user signs the token out at
    once, not when the token expires: every authenticated request checks both.

    Fields resolve concurrently, so the lookup is shared: the first caller starts it and every
    caller awaits the same result.
    """
    if ctx.viewer_lookup is None:
        ctx.viewer_lookup = asyncio.ensure_future(_look_up_viewer(ctx))
    return await asyncio.shield(ctx.viewer_lookup)


async def _look_up_viewer(ctx: Context) -> Viewer | None:
    claims = ctx.access_claims
    if claims is None:
        return None
    session, user = await asyncio.gather(
        ctx.loaders.session_by_id.load(claims.session_id),
        ctx.loaders.user_by_id.load(claims.user_id),
    )
    if (
        session is None
        or user is None
        or not session.active
        or session.user_id != user.id
        or user.disabled
    ):
        return None
    return Viewer(user=user, session=session)


async def viewer_audience(ctx: Context) -> str:
    """Which cached public results this request may share: those computed for anonymous callers,
    for signed-in users, or for admins. Decided by the checked session, not the token alone."""
    viewer = await current_viewer(ctx)
    if viewer is None:
        return ANONYMOUS_AUDIENCE
    return "admin" if viewer.user.role is Role.ADMIN else "user"


async def private_viewer(ctx: Context) -> Viewer | None:
    """The viewer, for a result that depends on who is asking: it is never cached."""
    ctx.cache_dependencies.private_data()
    return await current_viewer(ctx)


async def require_viewer(ctx: Context) -> Viewer:
    """The signed-in user; UNAUTHENTICATED otherwise, saying why when the token was the problem."""
    viewer = await private_viewer(ctx)
    if viewer is not None:
        return viewer
    if ctx.access_error is not None:
        raise NotAuthenticatedError(ctx.access_error.message)
    if ctx.access_claims is not None:
        raise NotAuthenticatedError("The session has ended; sign in again")
    raise NotAuthenticatedError()


async def require_admin(ctx: Context) -> Viewer:
    """The signed-in admin; UNAUTHENTICATED for anonymous callers, FORBIDDEN for other users."""
    viewer = await require_viewer(ctx)
    if viewer.user.role is not Role.ADMIN:
        raise ForbiddenError("Only admins can do this")
    return viewer

"""Who may use a field, declared on the field. Denials are top-level errors with a code."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from resolvers.accounts.viewer import require_admin, require_viewer
from schema.info import Info


class IsAuthenticated(BasePermission):
    """A signed-in user with a live session: UNAUTHENTICATED otherwise."""

    message = "Sign in to do this"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await require_viewer(info.context)  # raises with the precise reason
        return True


class IsAdmin(BasePermission):
    """A signed-in admin: UNAUTHENTICATED for anonymous callers, FORBIDDEN for other users."""

    message = "Only admins can do this"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        await require_admin(info.context)
        return True

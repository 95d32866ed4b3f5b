"""Deleting files from the image store that nothing references any more."""

from __future__ import annotations

import logging

from integrations.images import ImageStoreError
from resolvers.context import Context

logger = logging.getLogger(__name__)


async def discard_image(ctx: Context, public_id: str, why: str) -> None:
    """Delete a file nothing references; if that fails the file is orphaned, which is logged."""
    try:
        await ctx.services.images.delete(public_id)
    except (ImageStoreError, ValueError) as error:
        # ValueError: an id another store made (the store was switched); nothing to delete here.
        logger.warning("image %s (%s) not deleted: %s", public_id, why, error)

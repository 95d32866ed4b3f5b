"""`/media`: the local image store's files (development, or no CLOUDINARY_URL).

Only what the store writes is served, with the content type of what it checked the upload to be
(JPEG, PNG or WebP): a file of any other kind put in the directory (HTML, SVG) is not found, so
nothing under /media can run as a page on this API's origin. The security headers middleware
adds `nosniff` and a policy that loads nothing, should the file be opened on its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

__all__ = ["MEDIA_PATH", "MediaFiles"]

MEDIA_PATH = "/media"


class MediaFiles(StaticFiles):
    """Static files limited to `content_types` (extension -> type): the ones the store writes."""

    def __init__(self, *, content_types: Mapping[str, str], **options: Any) -> None:
        super().__init__(**options)
        self.content_types = dict(content_types)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        name = PurePath(full_path).name
        content_type = self.content_types.get(PurePath(name).suffix.lower())
        if content_type is None:
            raise HTTPException(status_code=404)
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=content_type,
            filename=name,  # saved under its own name, shown in the page
            content_disposition_type="inline",
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response

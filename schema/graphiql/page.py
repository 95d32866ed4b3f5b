"""The GraphiQL page, its files and its Content-Security-Policy: nothing from another origin.

The page is ours, not Strawberry's (which loads everything from a CDN): it links the vendored
stylesheets and scripts (vendor/manifest.json, in its order) and then static/page.css and
static/start.js, which starts GraphiQL. All of them are served at
`/graphiql/<build>/<path>`, where <build> is GraphiQL's version and a digest of every served
file: changed content gets a new URL, so each file may be cached for a year as immutable.

No script or style is inline, so the policy allows scripts and styles from this origin only,
with one exception: when a dialog opens (settings, short keys), GraphiQL's scroll lock
(react-remove-scroll) adds a `<style>` element, with the nonce it finds in the global
`__webpack_nonce__`. Each page gets a fresh nonce, allowed by its policy for styles only;
start.js hands it over from its own script element.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from dataclasses import dataclass
from html import escape
from pathlib import Path, PurePosixPath

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

__all__ = [
    "GRAPHIQL_ASSET_ROUTE",
    "GraphiQLFiles",
    "graphiql_asset",
    "graphiql_files",
    "graphiql_page",
]

HERE = Path(__file__).parent
GRAPHIQL_ASSETS_PATH = "/graphiql"
GRAPHIQL_ASSET_ROUTE = f"{GRAPHIQL_ASSETS_PATH}/{{build}}/{{path:path}}"
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Our own files, after the vendored ones.
OWN_FILES = ("page.css", "start.js")


def graphiql_csp(style_nonce: str) -> str:
    """The page's policy. GraphiQL's stylesheet carries its fonts as `data:` URLs; the page's
    icon is `data:` too, so the browser asks for no /favicon.ico. Fetches (queries and
    introspection) go to this origin's /graphql only."""
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{style_nonce}'",
            "font-src data:",
            "img-src data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


@dataclass(frozen=True)
class GraphiQLFiles:
    """What the page links, by path under the build: stylesheets and scripts in load order."""

    build: str
    assets: dict[str, Asset]
    stylesheets: tuple[str, ...]
    scripts: tuple[str, ...]

    def url(self, path: str) -> str:
        return f"{GRAPHIQL_ASSETS_PATH}/{self.build}/{path}"

    def page(self, style_nonce: str) -> str:
        """The HTML; start.js, the last script, carries the nonce for GraphiQL's styles."""
        links = "".join(
            f'    <link rel="stylesheet" href="{escape(self.url(path))}">\n'
            for path in self.stylesheets
        )
        scripts = "".join(
            f'    <script src="{escape(self.url(path))}" defer></script>\n'
            for path in self.scripts[:-1]
        )
        start = f'<script src="{escape(self.url(self.scripts[-1]))}" nonce="{style_nonce}" defer>'
        return (
            "<!doctype html>\n"
            '<html lang="en">\n'
            "  <head>\n"
            '    <meta charset="utf-8">\n'
            '    <meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "    <title>GraphiQL</title>\n"
            '    <link rel="icon" href="data:,">\n'
            f"{links}{scripts}    {start}</script>\n"
            "  </head>\n"
            "  <body>\n"
            '    <div id="graphiql">Loading GraphiQL...</div>\n'
            "    <noscript>GraphiQL needs JavaScript.</noscript>\n"
            "  </body>\n"
            "</html>\n"
        )


def _asset(body: bytes, path: str) -> Asset:
    return Asset(body, CONTENT_TYPES[PurePosixPath(path).suffix])


@functools.cache
def graphiql_files() -> GraphiQLFiles:
    """The vendored files the manifest lists (scripts and stylesheets; licences stay on disk)
    and ours, read once."""
    manifest = json.loads((HERE / "vendor" / "manifest.json").read_text())
    paths = [
        entry["path"]
        for package in manifest["packages"]
        for entry in package["files"]
        if PurePosixPath(entry["path"]).suffix in CONTENT_TYPES
    ]
    assets = {path: _asset((HERE / "vendor" / path).read_bytes(), path) for path in paths}
    assets |= {name: _asset((HERE / "static" / name).read_bytes(), name) for name in OWN_FILES}
    digest = hashlib.sha256()
    for path, asset in assets.items():
        digest.update(f"{path}\0{hashlib.sha256(asset.body).hexdigest()}\0".encode())
    version = next(p["version"] for p in manifest["packages"] if p["name"] == "graphiql")
    return GraphiQLFiles(
        build=f"{version}-{digest.hexdigest()[:12]}",
        assets=assets,
        stylesheets=tuple(path for path in assets if path.endswith(".css")),
        scripts=tuple(path for path in assets if path.endswith(".js")),
    )


async def graphiql_asset(request: Request) -> Response:
    """One file of the current build; any other build or path is not found."""
    files = graphiql_files()
    asset = None
    if request.path_params["build"] == files.build:
        asset = files.assets.get(request.path_params["path"])
    if asset is None:
        raise HTTPException(404, "No GraphiQL file at this path: reload GraphiQL for its files")
    return Response(asset.body, media_type=asset.media_type, headers={"Cache-Control": IMMUTABLE})


def graphiql_page() -> HTMLResponse:
    """The page with a fresh nonce and its policy; never stored, so each visit gets the
    current build's URLs."""
    nonce = secrets.token_urlsafe(18)
    headers = {"Content-Security-Policy": graphiql_csp(nonce), "Cache-Control": "no-store"}
    return HTMLResponse(graphiql_files().page(nonce), headers=headers)

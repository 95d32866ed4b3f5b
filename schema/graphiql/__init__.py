"""The Content-Security-Policy of the GraphiQL page: exactly what the page Strawberry serves loads.

The page loads React, GraphiQL and its explorer plugin from a CDN (pinned versions with
subresource integrity) and starts them with one inline script. The policy is read from the page
itself, so it follows a Strawberry upgrade: each external script and stylesheet by its full URL,
the inline script by its SHA-256. GraphiQL's stylesheet carries its fonts as `data:` URLs. Styles
stay `'unsafe-inline'`: React and GraphiQL's editors set style attributes and inject style
elements at run time, and no user content is ever on the page.
"""

from __future__ import annotations

import base64
import hashlib
import re

__all__ = ["graphiql_csp"]

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_LINK = re.compile(r"<link\b([^>]*)>", re.IGNORECASE)
_SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_STYLESHEET = re.compile(r"""\brel\s*=\s*["']?stylesheet\b""", re.IGNORECASE)


def graphiql_csp(page: str) -> str:
    """The policy for `page` (the GraphiQL HTML): its scripts and stylesheets and nothing else,
    requests only to this origin, no framing, no forms, no `<base>`."""
    scripts: list[str] = []
    for attributes, body in _SCRIPT.findall(page):
        source = _SRC.search(attributes)
        if source:
            scripts.append(source.group(1))
        else:
            digest = hashlib.sha256(body.encode()).digest()
            scripts.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    stylesheets = [
        href.group(1)
        for attributes in _LINK.findall(page)
        if _STYLESHEET.search(attributes) and (href := _HREF.search(attributes))
    ]
    directives = {
        "default-src": ["'none'"],
        "script-src": scripts,
        "style-src": ["'unsafe-inline'", *stylesheets],
        "font-src": ["data:"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())

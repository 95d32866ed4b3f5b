"""The bytes and the caching headers of GraphQL answers (README, "GET and CDNs"), in one place.

The endpoint (`http.py`) builds them for an answer it ran, the query cache stores them with each
entry (`public_answer`), and the fast path (`fast_hits.py`) sends a stored one for a hit without
running anything: both must send the same bytes with the same headers.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import orjson

from resolvers.query_cache import StoredAnswer
from settings import Settings

# Responses of at least this many bytes are gzipped for clients that accept it (GZipMiddleware,
# at this level; `gzip_body` compresses exactly as it does, so a stored gzipped answer is the
# same bytes).
GZIP_MINIMUM_BYTES = 1024
GZIP_LEVEL = 9
# GraphQL answers differ by these request headers (the signed-in user, the guest cart); a cache in
# front must key on them. GZipMiddleware adds Accept-Encoding to answers it may compress, and CORS
# adds Origin.
# Cookies are not among them: resolvers read a cookie only through `Context.cookie`, which makes
# the result private, so a browser sending its refresh cookie still gets CDN-cacheable answers.
GRAPHQL_VARY = "Authorization, X-Cart-Token"
PRIVATE_CACHE_CONTROL = "private, no-store"
# Request headers that make an answer personal: it is never shared, whatever it holds.
PERSONAL_HEADERS = ("authorization", "x-cart-token")


def public_cache_control(settings: Settings) -> str:
    return (
        f"public, max-age={settings.cdn_max_age_seconds}, "
        f"stale-while-revalidate={settings.cdn_stale_while_revalidate_seconds}"
    )


def public_body(data: Any) -> bytes:
    """A shared answer carries only `data`: `extensions` describe one request and one client."""
    return orjson.dumps({"data": data})


def gzip_body(body: bytes) -> bytes:
    """`body` as GZipMiddleware sends it to a client that accepts gzip."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


def is_gzipped(body_size: int, accept_encoding: str) -> bool:
    """Whether GZipMiddleware compresses an answer of `body_size` bytes for this client."""
    return body_size >= GZIP_MINIMUM_BYTES and "gzip" in accept_encoding


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def etag(digest: str, *, gzipped: bool) -> str:
    """A strong ETag of a body as it is sent: gzipped bodies are another representation."""
    return f'"{digest}-gzip"' if gzipped else f'"{digest}"'


def etag_matches(if_none_match: str, tag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110, 13.1.2): `*`, or any listed tag, W/ or not."""
    tags = {listed.strip().removeprefix("W/") for listed in if_none_match.split(",")}
    return "*" in tags or tag in tags


def public_answer(
    data: Any, *, requested_cost: int | None, actual_cost: int | None
) -> StoredAnswer:
    """What the query cache stores of a shareable result: the body a public GET answer sends, its
    gzipped form when it is large enough, its ETag digest, and what the operation cost."""
    body = public_body(data)
    return StoredAnswer(
        body=body,
        gzip=gzip_body(body) if len(body) >= GZIP_MINIMUM_BYTES else b"",
        etag=body_digest(body),
        requested_cost=requested_cost,
        actual_cost=actual_cost,
    )

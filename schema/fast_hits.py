"""Cache hits of anonymous GET requests, answered before routing, Strawberry and GraphQL.

A request is recognized from its query string: its document (the text, or a persisted document's
SHA-256) through a bounded map this process filled from requests it ran (`FastHits`), so a
document is parsed once per process; its key is then worked out from the document's digest, the
operation name and the variables, as `cache_key` does. One Redis round trip reads the stored
answer, checks it against the current version of every tag it read and, when queries are
throttled, draws its cost from the client's bucket (`QueryCache.answer`); its bytes are then sent
as stored, with the headers the endpoint would give them (`answers.py`), and those the
middlewares behind this one would add (CORS, request id, security headers).

Anything else goes on to the normal path untouched: another method, path or header that makes it
personal (Authorization, X-Cart-Token), a document this process has not run, a miss or an entry a
write has retired, a bucket too empty, the serving lease lapsed (`lease.py`), Redis failing.
An entry exists only for an operation that ran without errors for anonymous callers and read
nothing private, so its existence under the key says the normal path would send the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import orjson
from cross_web import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send

from resolvers.cost_bucket import throttle_client
from resolvers.metrics import ProcessMetrics
from resolvers.persisted_queries import SUPPORTED_VERSION, is_sha256_hex
from resolvers.query_cache import (
    ANONYMOUS_AUDIENCE,
    CacheStatus,
    EntryRead,
    Outcome,
    digest_cache_key,
)
from resolvers.services import Services
from schema.answers import (
    GRAPHQL_VARY,
    GZIP_MINIMUM_BYTES,
    etag,
    etag_matches,
    public_cache_control,
)
from schema.caching import KnownDocument, mark_lookup_failed
from schema.middleware import (
    AllowListCORSMiddleware,
    SecurityHeadersMiddleware,
    request_id_for,
    request_id_var,
)
from schema.observability import RequestRecord, observe_answered
from schema.persisted_queries import lift_document_id
from schema.trusted_documents import TrustedDocuments
from settings import Settings

logger = logging.getLogger(__name__)

GRAPHQL_PATH = "/graphql"
# Distinct documents each process recognizes, as many as Strawberry's parser cache holds.
KNOWN_DOCUMENTS = 1024
# Query strings each process remembers the key of (product pages: one per product asked for),
# each at most this long: a few MiB at most.
KNOWN_REQUESTS = 4096
MAX_REMEMBERED_QUERY_STRING = 1024
# Accept values that ask Strawberry for a streamed answer: never a stored one.
_STREAMING_ACCEPTS = (b"multipart/mixed", b"text/event-stream")
_PERSONAL_HEADERS = frozenset({b"authorization", b"x-cart-token"})

# How a request names its document: ("text", SHA-256 of the text) or ("sha256", the persisted
# document's id). Text is hashed so that the map holds no request bodies.
DocumentReference = tuple[str, str]


def document_reference(params: Mapping[str, str]) -> DocumentReference | None:
    """How a GET's parameters name its document: by text, or by a persisted document's id
    (`documentId`, or APQ's hash alone). None for anything else (both, a registration, malformed
    parameters): only the normal path answers those."""
    decoded: dict[str, Any] = dict(params)
    if decoded.get("extensions"):
        try:
            decoded["extensions"] = orjson.loads(decoded["extensions"])
        except orjson.JSONDecodeError:
            return None
        if not isinstance(decoded["extensions"], dict):
            return None
    try:
        lifted = lift_document_id(decoded)
    except HTTPException:
        return None
    query = lifted.get("query")
    extensions = lifted.get("extensions") or {}
    if "persistedQuery" not in extensions:
        return ("text", hashlib.sha256(query.encode()).hexdigest()) if query else None
    persisted = extensions["persistedQuery"]
    if query is not None or not isinstance(persisted, dict):
        return None
    sha256_hash = persisted.get("sha256Hash")
    if persisted.get("version") != SUPPORTED_VERSION or not is_sha256_hex(sha256_hash):
        return None
    return ("sha256", str(sha256_hash))


def get_variables(params: Mapping[str, str]) -> dict[str, Any] | None:
    """A GET's `variables`: the JSON object its parameter holds ({} without one); None for
    anything else, which the normal path refuses."""
    if "variables" not in params:
        return {}
    try:
        variables = orjson.loads(params["variables"])
    except orjson.JSONDecodeError:
        return None
    return variables if isinstance(variables, dict) else None


class FastHits:
    """One per process: the documents it recognizes, the requests it has worked a key out for
    (both bounded, least recently used first out), and how many hits it answered.

    The endpoint teaches it each document whose public answer it sent (`learn`); the middleware
    (`FastHitsMiddleware`) looks requests up in it.
    """

    def __init__(
        self, trusted_documents: TrustedDocuments | None = None, *, size: int = KNOWN_DOCUMENTS
    ) -> None:
        self.trusted_documents = trusted_documents or TrustedDocuments()
        self._size = size
        self._documents: OrderedDict[DocumentReference, KnownDocument] = OrderedDict()
        # A query string seen before, to what its document and variables keyed: an exact repeat
        # (the same page asked for again) is not parsed again.
        self._requests: OrderedDict[bytes, _Keyed] = OrderedDict()
        self.served = 0

    def __len__(self) -> int:
        return len(self._documents)

    def learn(self, params: Mapping[str, str], known: KnownDocument) -> None:
        """Remember the document these GET parameters name."""
        reference = document_reference(params)
        if reference is not None:
            _remember(self._documents, reference, known, self._size)

    def forget(self) -> None:
        """Forget every document (what a process restart does)."""
        self._documents.clear()
        self._requests.clear()

    def recognize(self, reference: DocumentReference) -> KnownDocument | None:
        known = self._documents.get(reference)
        if known is not None:
            self._documents.move_to_end(reference)
        return known

    def keyed(self, query_string: bytes) -> _Keyed | None:
        """The key of a query string keyed before, while its document is still known."""
        keyed = self._requests.get(query_string)
        if keyed is None or self.recognize(keyed.reference) is None:
            return None
        self._requests.move_to_end(query_string)
        return keyed

    def remember_keyed(self, query_string: bytes, keyed: _Keyed) -> None:
        if len(query_string) <= MAX_REMEMBERED_QUERY_STRING:
            _remember(self._requests, query_string, keyed, KNOWN_REQUESTS)

    def holds_persisted(self, sha256_hash: str, services: Services) -> bool:
        """Whether the normal path would find this persisted document without asking Redis: in
        the manifest, or in the persisted queries' own memory. Otherwise it is looked up there,
        which keeps a document in use from expiring, and says when it is gone."""
        return self.trusted_documents.get(
            sha256_hash
        ) is not None or services.persisted_queries.remembers(sha256_hash)

    def hit_served(self, status: int) -> None:
        """A request was answered from the cache here (status 200 or 304): the one place to count
        fast hits (metrics, logs)."""
        self.served += 1


def _remember(entries: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    entries[key] = value
    entries.move_to_end(key)
    while len(entries) > size:
        entries.popitem(last=False)


@dataclass(frozen=True)
class _Keyed:
    """What a query string names: the document, the operation ("" for an unnamed one), and the
    cache key with the variables."""

    reference: DocumentReference
    operation: str
    key: str

    @property
    def persisted_id(self) -> str | None:
        """The persisted document's id, when the request names one."""
        kind, value = self.reference
        return value if kind == "sha256" else None


@dataclass(frozen=True)
class _Request:
    """What of a GET the fast path reads: its key and the headers that shape the answer."""

    keyed: _Keyed
    client_ip: str
    accepts_gzip: bool
    if_none_match: str


Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class _Answer:
    """A hit as sent, and what its request's record says (`schema/observability.py`)."""

    status: int
    headers: Headers
    body: bytes
    request_id: str
    operation: str
    cost: int | None


class FastHitsMiddleware:
    """Answers the cache hits it recognizes (see the module); everything else goes to `app`.

    The outermost middleware: every layer between uvicorn and the Redis read costs each request
    (each is resumed when the read returns), so a hit skips them, and gets the headers they would
    have added from the same code: CORS for an allowed origin, the request id, the security
    headers (`schema/middleware.py`); it records the hit in the metrics and logs its line as the
    request observation would (`schema/observability.py`). It sits in front of GZipMiddleware
    too: a hit's gzipped form is stored.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        fast_hits: FastHits,
        cors: dict[str, Any],
        metrics: ProcessMetrics | None = None,
    ) -> None:
        self.app = app
        self.fast_hits = fast_hits
        self._metrics = metrics
        self._cache_control = public_cache_control(settings).encode()
        self._max_query_string = settings.max_json_request_bytes
        # Used for their header logic only; the app's own instances answer everything else.
        self._cors = AllowListCORSMiddleware(app, **cors)
        self._security = SecurityHeadersMiddleware(app, hsts_seconds=settings.hsts_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == GRAPHQL_PATH:
            started = time.perf_counter()
            try:
                answer = await self._answer(scope)
            except Exception:  # never worse than the normal path: nothing was sent yet
                logger.exception("fast path failed; answering through the normal path")
                answer = None
            if answer is not None:
                self.fast_hits.hit_served(answer.status)
                start = {"type": "http.response.start", "status": answer.status}
                await send({**start, "headers": answer.headers})
                await send({"type": "http.response.body", "body": answer.body})
                self._observe(scope, answer, time.perf_counter() - started)
                return
        await self.app(scope, receive, send)

    def _observe(self, scope: Scope, answer: _Answer, seconds: float) -> None:
        """The metrics and the log line the request observation middleware would give it."""
        record = RequestRecord()
        record.operation = answer.operation
        record.cache_status = str(CacheStatus.HIT)
        record.cost = answer.cost
        token = request_id_var.set(answer.request_id)
        try:
            observe_answered(self._metrics, scope, answer.status, seconds, record)
        finally:
            request_id_var.reset(token)

    def _request(self, scope: Scope) -> _Request | None:
        accept_encoding = if_none_match = b""
        seen: set[bytes] = set()
        for name, value in scope["headers"]:
            if name in _PERSONAL_HEADERS and value:
                return None
            if name in seen:
                continue  # as Starlette's Headers.get, the first one counts
            seen.add(name)
            if name == b"accept-encoding":
                accept_encoding = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"accept" and any(kind in value for kind in _STREAMING_ACCEPTS):
                return None
        query_string: bytes = scope["query_string"]
        if len(query_string) > self._max_query_string:
            return None  # the body-size middleware answers 414
        keyed = self.fast_hits.keyed(query_string) or self._key(query_string)
        if keyed is None:
            return None
        client = scope.get("client")
        return _Request(
            keyed=keyed,
            client_ip=client[0] if client else "",
            accepts_gzip=b"gzip" in accept_encoding,
            if_none_match=if_none_match.decode("latin-1"),
        )

    def _key(self, query_string: bytes) -> _Keyed | None:
        """The cache key of a query string naming a known document, worked out as `cache_key`
        does (`SpecExecutionContext`'s operation name: the given one, or the only one)."""
        params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        reference = document_reference(params)
        known = self.fast_hits.recognize(reference) if reference else None
        if reference is None or known is None:
            return None
        variables = get_variables(params)
        if variables is None:
            return None
        operation_name = params.get("operationName", known.default_operation_name)
        try:
            key = digest_cache_key(known.digest, operation_name, variables, ANONYMOUS_AUDIENCE)
        except TypeError:
            return None
        keyed = _Keyed(reference, operation_name or "", key)
        self.fast_hits.remember_keyed(query_string, keyed)
        return keyed

    async def _read(self, scope: Scope, request: _Request) -> EntryRead | None:
        """The hit, paid for; None for anything the normal path must answer."""
        services: Services = scope["app"].state.services
        persisted_id = request.keyed.persisted_id
        if persisted_id and not self.fast_hits.holds_persisted(persisted_id, services):
            return None
        cache = services.query_cache
        if not cache.enabled or not await cache.serving():
            return None
        bucket = services.cost_bucket
        client = throttle_client(None, request.client_ip) if bucket.enabled else ""
        charge = bucket.charge_for(client) if bucket.enabled else None
        together = charge is not None and bucket.uses(cache.redis)
        read = await cache.answer(
            request.keyed.key, gzip=request.accepts_gzip, charge=charge if together else None
        )
        if read is None:
            mark_lookup_failed(scope)
            return None
        if read.outcome is not Outcome.HIT:
            return None  # a miss; or the bucket is short or the cost unknown: charged there
        if charge is not None and not together:
            if read.requested_cost is None or read.actual_cost is None:
                return None
            draw = await bucket.take_cached(client, read.requested_cost, read.actual_cost)
            if not draw.allowed:
                return None
        return read

    async def _answer(self, scope: Scope) -> _Answer | None:
        """The status, headers and body of a hit; None for the normal path to answer."""
        request = self._request(scope)
        if request is None:
            return None
        read = await self._read(scope, request)
        if read is None or read.body is None or not read.etag:
            return None
        body = read.body
        if request.accepts_gzip and not read.gzipped and len(body) >= GZIP_MINIMUM_BYTES:
            return None  # stored without its gzipped form: GZipMiddleware makes it
        tag = etag(read.etag, gzipped=read.gzipped)
        # As GZipMiddleware leaves them: it adds Accept-Encoding to whatever it could compress
        # (the endpoint adds it to the 304 of such an answer).
        large = read.gzipped or len(body) >= GZIP_MINIMUM_BYTES
        vary = f"{GRAPHQL_VARY}, Accept-Encoding" if large else GRAPHQL_VARY
        headers = [
            (b"cache-control", self._cache_control),
            (b"etag", tag.encode()),
            (b"vary", vary.encode()),
        ]
        request_id = request_id_for(scope)
        answer = partial(
            _Answer,
            request_id=request_id,
            operation=request.keyed.operation,
            cost=read.actual_cost,
        )
        if etag_matches(request.if_none_match, tag):
            return answer(304, self._finished(scope, headers, request_id), b"")
        headers += [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]
        if read.gzipped:
            headers.append((b"content-encoding", b"gzip"))
        return answer(200, self._finished(scope, headers, request_id), body)

    def _finished(self, scope: Scope, headers: Headers, request_id: str) -> Headers:
        """`headers` with what the middlewares behind add, in their order: CORS, the request id,
        the security headers."""
        cors = MutableHeaders(raw=headers)
        self._cors.add_answer_headers(cors, self._cors.allowed_origin(scope))
        headers = cors.raw
        headers.append((b"x-request-id", request_id.encode()))
        return self._security.secured(headers)

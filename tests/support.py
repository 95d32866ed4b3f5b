"""Test plumbing shared by many modules: GraphQL calls, MongoDB and Redis command counting."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from pymongo import monitoring
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

# Commands that are part of talking to a server, not of answering a query.
_HOUSEKEEPING = {
    "hello",
    "ismaster",
    "isMaster",
    "ping",
    "endSessions",
    "saslStart",
    "saslContinue",
}


# Fields of a sent command that belong to the session or the wire, not to the query.
_META_FIELDS = {"lsid", "$clusterTime", "$db", "txnNumber", "$readPreference"}


# Collections whose commands are kept apart from a request's: the query cache confirms that no
# invalidation is pending at most once per CACHE_PENDING_CHECK_SECONDS and process, whichever
# request happens to come then (tests/cache pins how often).
_SET_ASIDE_COLLECTIONS = {"pending_cache_invalidations"}


class MongoCommandCounter(monitoring.CommandListener):
    """Counts the data commands (find, aggregate, count ...) every client sends; those on the
    collections set aside go to `set_aside`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.set_aside: list[tuple[str, dict[str, Any]]] = []
        # Change streams: the requests opening one, and the cursors they opened.
        self._opening_streams: set[int] = set()
        self._stream_cursors: set[int] = set()

    @property
    def commands(self) -> list[str]:
        return [name for name, _ in self.sent]

    def reset(self) -> None:
        with self._lock:
            self.sent = []
            self.set_aside = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in _HOUSEKEEPING:
            return
        sent = (event.command_name, dict(event.command))
        with self._lock:
            collection = event.command.get(event.command_name)
            if (
                isinstance(collection, str) and collection in _SET_ASIDE_COLLECTIONS
            ) or self._follows_changes(event):
                self.set_aside.append(sent)
            else:
                self.sent.append(sent)

    def _follows_changes(self, event: monitoring.CommandStartedEvent) -> bool:
        """Whether `event` opens or reads a change stream: a process's category cache follows
        one all the time (loaders/category_cache.py), whatever request is under way."""
        command = event.command
        if event.command_name == "aggregate":
            pipeline = command.get("pipeline") or [{}]
            if "$changeStream" in pipeline[0]:
                self._opening_streams.add(event.request_id)
                return True
            return False
        if event.command_name == "getMore":
            return command["getMore"] in self._stream_cursors
        if event.command_name == "killCursors":
            return any(cursor in self._stream_cursors for cursor in command.get("cursors", ()))
        return False

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.request_id not in self._opening_streams:
            return
        with self._lock:
            self._opening_streams.discard(event.request_id)
            self._stream_cursors.add(event.reply["cursor"]["id"])

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        with self._lock:
            self._opening_streams.discard(event.request_id)


@contextlib.asynccontextmanager
async def redis_commands(url: str) -> AsyncIterator[list[str]]:
    """The commands clients sent the Redis server at `url` while the block ran (MONITOR), in
    order; those a Lua script ran are left out (its EVALSHA is counted). Filled when the block
    ends: markers sent before and after it delimit the block, without waiting on a clock."""
    marker = f"commands-{uuid.uuid4().hex}"
    watcher, sender = Redis.from_url(url), Redis.from_url(url)
    commands: list[str] = []
    try:
        async with watcher.monitor() as monitor:
            await sender.echo(f"{marker}-start")
            while (await monitor.next_command())["command"] != f"ECHO {marker}-start":
                pass
            yield commands
            await sender.echo(f"{marker}-end")
            while (seen := await monitor.next_command())["command"] != f"ECHO {marker}-end":
                if seen["client_type"] != "lua":
                    commands.append(seen["command"])
    finally:
        await sender.aclose()
        await watcher.aclose()


def _winning_plan_nodes(explain: Any) -> list[dict[str, Any]]:
    """Every stage of every winning plan in an explain output, however nested."""
    nodes: list[dict[str, Any]] = []

    def walk(node: Any, in_winning_plan: bool) -> None:
        if isinstance(node, dict):
            if in_winning_plan and "stage" in node:
                nodes.append(node)
            for key, value in node.items():
                if key != "rejectedPlans":
                    walk(value, in_winning_plan or key in ("winningPlan", "queryPlan"))
        elif isinstance(node, list):
            for item in node:
                walk(item, in_winning_plan)

    walk(explain, False)
    return nodes


def winning_stages(explain: Any) -> list[str]:
    """The stage names of every winning plan in an explain output, however nested."""
    return [node["stage"] for node in _winning_plan_nodes(explain)]


def winning_indexes(explain: Any) -> set[str]:
    """The names of the indexes the winning plans of an explain output scan."""
    return {node["indexName"] for node in _winning_plan_nodes(explain) if "indexName" in node}


async def explain_all(
    database: AsyncDatabase[Any], sent: list[tuple[str, dict[str, Any]]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Explain every query among the `sent` commands and assert none scans a whole collection;
    returns each query with its explain output."""
    explained = []
    for name, command in sent:
        if name not in ("find", "aggregate", "count"):
            continue
        body = {key: value for key, value in command.items() if key not in _META_FIELDS}
        explain = await database.command({"explain": body, "verbosity": "queryPlanner"})
        stages = winning_stages(explain)
        assert stages, (body, explain)
        assert "COLLSCAN" not in stages, (body, stages)
        explained.append((body, explain))
    assert explained
    return explained


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    expect_status: int = 200,
    token: str | None = None,
) -> dict[str, Any]:
    """POST a GraphQL operation (as the bearer of `token`, if given) and return the body."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == expect_status, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    accessToken refreshToken user { id email role }
    errors { field code message }
  }
}
"""


async def login(
    client: httpx.AsyncClient, email: str, password: str, *, user_agent: str = "tests"
) -> dict[str, Any]:
    """Sign in through the API; the `login` payload (tokens and user)."""
    response = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": email, "password": password}}},
        headers={"user-agent": user_agent},
    )
    payload: dict[str, Any] = response.json()["data"]["login"]
    assert payload["errors"] == [], payload
    return payload


def payload_codes(body: dict[str, Any], mutation: str) -> list[str]:
    """The codes in a mutation payload's `errors`."""
    return [error["code"] for error in body["data"][mutation]["errors"]]


async def run_jobs(app: Any) -> int:
    """Do in this process what the worker would: run the outbox relay and every job that is due,
    until nothing is left (a retry waiting out its backoff is not due). Returns the jobs run.

    Uses the app's services as they are now, so a test that swapped the email sender or the
    outbox (`replace_services`) runs its jobs with those."""
    from resolvers.jobs import build_worker

    ran: int = await build_worker(app.state.settings, app.state.services).run_until_idle()
    return ran


async def sent_emails(app: Any, settings: Any, to: str) -> list[dict[str, Any]]:
    """The emails the stand-in sender delivered to `to`, oldest first, once the jobs waiting to
    send emails have run (`run_jobs`)."""
    await run_jobs(app)
    collection = app.state.mongo[settings.mongodb_database]["sent_emails"]
    return await collection.find({"to": to}, {"_id": 0}).sort("created_at", 1).to_list()


async def signed_in_token(client: httpx.AsyncClient, email: str, *, role: Any = None) -> str:
    """The access token of a new account with `email` (and `role`), signed in through the API."""
    from documents.accounts import Role
    from tests.factories import DEFAULT_PASSWORD, make_user

    await make_user(email, role=role or Role.USER)
    token: str = (await login(client, email, DEFAULT_PASSWORD))["accessToken"]
    return token


async def admin_token(client: httpx.AsyncClient, email: str = "admin@example.com") -> str:
    from documents.accounts import Role

    return await signed_in_token(client, email, role=Role.ADMIN)


async def user_token(client: httpx.AsyncClient, email: str = "customer@example.com") -> str:
    return await signed_in_token(client, email)


async def catalog_state() -> dict[str, list[dict[str, Any]]]:
    """Every stored catalog document, to compare before and after a refused change."""
    from documents.catalog import CATALOG_DOCUMENTS

    return {
        document.get_collection_name(): await document.get_pymongo_collection()
        .find({}, sort=[("_id", 1)])
        .to_list()
        for document in CATALOG_DOCUMENTS
    }


async def assert_counts_exact() -> None:
    """Every kept list count equals a count of the products (documents/catalog_counts.py)."""
    from documents.catalog_counts import recount_catalog

    assert (await recount_catalog(correct=False)).corrected == {}


def payload_errors(body: dict[str, Any], mutation: str) -> list[tuple[str | None, str]]:
    """The (field, code) pairs in a mutation payload's `errors`."""
    return [(error["field"], error["code"]) for error in body["data"][mutation]["errors"]]


SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


def parse_svg(text: str) -> ET.Element:
    """Parse an SVG document (raises on malformed XML); the root must be an `svg` element."""
    root = ET.fromstring(text.encode())  # noqa: S314 - the API's own output, not untrusted input
    assert root.tag == f"{SVG_NAMESPACE}svg", root.tag
    return root


def accepts_connections(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def access_token_for(app: Any, user: Any) -> str:
    """An access token of a new session for `user`, without `login` (and its rate limits)."""
    from datetime import UTC, datetime, timedelta

    from documents.accounts import AuthSession

    session = await AuthSession(
        user_id=user.id, expires_at=datetime.now(UTC) + timedelta(days=365)
    ).insert()
    token, _ = app.state.services.access_tokens.issue(user, session)
    return str(token)


def get_params(query: str, variables: dict[str, Any] | None = None, **extra: str) -> dict[str, str]:
    """The query parameters of a GraphQL GET: the document, its variables as JSON, and `extra`."""
    found = {"query": query, **extra}
    if variables is not None:
        found["variables"] = json.dumps(variables)
    return found


def client_at(app: Any, ip: str, *, https: bool = False) -> httpx.AsyncClient:
    """A client of `app` calling from `ip` (rate limits count per client address). Cookies are
    Secure outside development: a browser that must send them back needs `https`."""
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    scheme = "https" if https else "http"
    return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://testserver")


def app_sharing_services(settings: Any, running: Any) -> Any:
    """An app built by `create_app(settings)` that serves with the running test app's clients
    and services: for settings read when the app is built (production defaults, headers), without
    a second lifespan rebinding the documents to another MongoDB client."""
    from server import create_app

    app = create_app(settings)
    app.state.settings = settings
    for name in ("mongo", "redis", "services"):
        setattr(app.state, name, getattr(running.state, name))
    return app


@contextlib.asynccontextmanager
async def another_app(settings: Any, shared_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A second app built from `settings` (another MongoDB URI, another Redis URL) and running,
    with an HTTP client for it. Beanie binds the documents to one client per process: to the
    second app's while it runs, to the shared app's again afterwards."""
    from server import create_app, init_documents

    second = create_app(settings)
    try:
        async with second.router.lifespan_context(second):
            transport = httpx.ASGITransport(app=second)
            async with httpx.AsyncClient(transport=transport, base_url="http://second") as http:
                yield http
    finally:
        await init_documents(shared_app.state.mongo, shared_app.state.settings)


async def clear_stored_state(app: Any, settings: Any) -> None:
    """Empty every collection and this run's Redis keys (the job queue's too: saq puts its own
    prefix before the queue's name): what each test leaves behind."""
    from documents.registry import ALL_DOCUMENTS
    from server import SENT_EMAILS_COLLECTION

    for document in ALL_DOCUMENTS:
        await document.get_pymongo_collection().delete_many({})
    await app.state.mongo[settings.mongodb_database][SENT_EMAILS_COLLECTION].delete_many({})
    app.state.services.persisted_queries.forget_local()
    patterns = (f"{settings.redis_key_prefix}*", f"saq:*{settings.redis_key_prefix}*")
    keys = [key for pattern in patterns async for key in app.state.redis.scan_iter(match=pattern)]
    if keys:
        await app.state.redis.delete(*keys)


ROOT = Path(__file__).resolve().parent.parent


def run_server_command(
    workdir: Path, *arguments: str, timeout: float = 60, **environment: str
) -> subprocess.CompletedProcess[str]:
    """`python -m server <arguments>` in `workdir` (where no .env file is read), in development,
    with only `environment` besides; its exit code and output."""
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "server", *arguments],
        cwd=workdir,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "ENVIRONMENT": "development",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

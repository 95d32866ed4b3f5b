"""Measured runs against the API under test, shared by the HTTP benchmarks of checkout and
payments.

`api_under_test` starts everything a run needs (private mongod and redis-server, the API as
`python -m server serve` with the payment stand-in, a connection to its database in this
process) and stops it again. `ApiUnderTest.load` sends a list of requests with the load client
and summarizes the answers (`run_results.RunResult`) with the CPU time every process used
meanwhile and the transactions mongod started; `healthz` measures the ceiling of this client and
server.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
from harness import (
    DATABASE,
    HOST,
    REPO_ROOT,
    ApiServer,
    Backends,
    BenchError,
    backends,
    cpu_seconds,
    process_tree,
    server_environment,
    summarize_warnings,
)
from load_client import Answer, Call, run_load
from profiling import Recording, record_profile
from pydantic import SecretStr
from run_results import Outcome, RunResult, describe_errors, summarize

from integrations.local_servers import free_port
from server import connect_mongo, init_documents
from settings import JwtAlgorithm, PaymentProviderName, Settings

HEALTHY = "OK"  # the outcome of a healthz answer
# Tokens are issued just before each run; the longest lifetime the settings allow.
ACCESS_TOKEN_MINUTES = 60
HEALTHZ_WARMUP_REQUESTS = 1000
# mongod's transaction counters (serverStatus), compared around each run. More transactions than
# requests means retries: PyMongo's `with_transaction` runs a unit again after a write conflict.
# (serverStatus' metrics.operation.writeConflicts does not count those of transactions.)
MONGOD_COUNTERS = {
    "transactions_started": ("transactions", "totalStarted"),
    "transactions_committed": ("transactions", "totalCommitted"),
    "transactions_aborted": ("transactions", "totalAborted"),
}
# Commands mongod counts (serverStatus metrics.commands) that are not the API's work: the
# drivers' monitoring, and this bench's own reading of the counters.
NOT_THE_APIS_COMMANDS = frozenset(
    {"hello", "isMaster", "ismaster", "ping", "serverStatus", "buildInfo", "endSessions"}
)


def mongod_counters(client: pymongo.MongoClient[dict[str, Any]]) -> dict[str, int]:
    status = client.admin.command("serverStatus")
    counters = {}
    for name, path in MONGOD_COUNTERS.items():
        value: Any = status
        for key in path:
            value = value.get(key, {})
        counters[name] = int(value) if isinstance(value, int) else 0
    # Every command the API sent, by name ("commands:find"), and all of them ("commands"):
    # one insert of many documents, or one bulk write of many updates, is one command.
    by_name = {
        f"commands:{name}": int(counts.get("total", 0))
        for name, counts in status.get("metrics", {}).get("commands", {}).items()
        if isinstance(counts, dict) and name not in NOT_THE_APIS_COMMANDS
    }
    counters.update(by_name)
    counters["commands"] = sum(by_name.values())
    return counters


def healthz_outcome(answer: Answer) -> Outcome:
    if answer.status == 0:
        return answer.body.decode(), None
    return (HEALTHY if answer.status == 200 else f"HTTP {answer.status}"), None


# --- the API under test -----------------------------------------------------------------------


class ApiUnderTest:
    """The API, its database, and measured runs against it. Database work runs on `runner`'s
    event loop; the load runs in client processes while this process waits."""

    def __init__(
        self,
        servers: Backends,
        server: ApiServer,
        settings: Settings,
        runner: asyncio.Runner,
        mongod_status: pymongo.MongoClient[dict[str, Any]],
        *,
        client_processes: int,
        timeout: float,
        profile_dir: Path | None,
    ) -> None:
        self.servers = servers
        self.server = server
        self.settings = settings
        self.runner = runner
        self.mongod_status = mongod_status
        self.client_processes = client_processes
        self.timeout = timeout
        self.profile_dir = profile_dir

    def counted_processes(self) -> dict[str, list[int]]:
        assert self.servers.redis is not None
        return {
            "api": process_tree(self.server.process.pid),
            "mongod": [self.servers.mongod.process.pid],
            "redis": [self.servers.redis.process.pid],
        }

    def load(
        self,
        run: str,
        calls: list[Call],
        concurrency: int,
        classify: Callable[[Answer], Outcome],
        *,
        success: str,
        profile: bool = False,
    ) -> tuple[RunResult, list[Outcome], list[Answer]]:
        """Send `calls` and summarize the answers, with the CPU every process used meanwhile;
        `success` is the outcome the run is for (what `classify` says of a good answer)."""
        processes = self.counted_processes()
        before: dict[str, float] = {}
        counters_before: dict[str, int] = {}

        def at_start() -> None:
            before.update({who: cpu_seconds(pids) for who, pids in processes.items()})
            counters_before.update(mongod_counters(self.mongod_status))

        log_offset = self.server.log_size()
        profile_path = None
        if profile:
            assert self.profile_dir is not None
            profile_path = self.profile_dir / f"{run.split(',')[0]}-{concurrency}.txt"
        recorder: contextlib.AbstractContextManager[Recording | None] = (
            record_profile(self.server.process.pid, profile_path)
            if profile_path is not None
            else contextlib.nullcontext()
        )
        with recorder as recording:
            try:
                load = run_load(
                    self.server.base_url,
                    calls,
                    concurrency=concurrency,
                    processes=self.client_processes,
                    timeout=self.timeout,
                    at_start=at_start,
                )
            except RuntimeError as error:
                raise BenchError(f"{run} at {concurrency}: {error}") from error
            used = {who: cpu_seconds(pids) - before[who] for who, pids in processes.items()}
            counters = mongod_counters(self.mongod_status)
        if self.server.process.poll() is not None:
            raise BenchError(f"the API server died during {run}:\n{self.server.log_tail()}")
        outcomes = [classify(answer) for answer in load.answers]
        used["client"] = load.client_cpu_seconds
        result = summarize(run, concurrency, load, outcomes, used, success)
        result.mongod = {
            name: delta
            for name in counters
            if (delta := counters[name] - counters_before.get(name, 0)) or ":" not in name
        }
        print(
            f"  {run}: {result.requests:,} requests in {result.seconds:.1f} s, "
            f"p99 {result.latency_ms['p99']:,.0f} ms, errors: {describe_errors(result.errors)}",
            file=sys.stderr,
        )
        warnings = self.server.warnings_since(log_offset)
        result.server_warnings = len(warnings)
        result.server_warning_samples = summarize_warnings(warnings)
        if recording is not None and profile_path is not None:
            result.profile = recording.summary().as_dict(per=result.requests)
            result.profile["path"] = str(profile_path.relative_to(REPO_ROOT))
        return result, outcomes, load.answers

    def healthz(self, concurrency: int, requests: int) -> RunResult:
        """`GET /healthz` after an unmeasured warm-up: what this client and server can do at all."""
        warmup = [Call("/healthz")] * HEALTHZ_WARMUP_REQUESTS
        self.load("warm-up", warmup, concurrency, healthz_outcome, success=HEALTHY)
        calls = [Call("/healthz")] * requests
        result, _, answers = self.load(
            "healthz", calls, concurrency, healthz_outcome, success=HEALTHY
        )
        if server_errors := sum(answer.status >= 500 for answer in answers):
            raise BenchError(f"healthz at {concurrency}: {server_errors} answers were 5xx")
        return result


def bench_settings(backends: Backends, jwt_secret: str) -> Settings:
    """What the bench needs of the API's settings: the database, the same token keys, and the
    payment stand-in with its own secrets (whatever the environment or `.env` says)."""
    return Settings(
        mongodb_uri=backends.mongod.uri,
        mongodb_database=DATABASE,
        jwt_algorithm=JwtAlgorithm.HS256,
        jwt_secret=SecretStr(jwt_secret),
        access_token_minutes=ACCESS_TOKEN_MINUTES,
        payment_provider=PaymentProviderName.STANDIN,
        razorpay_key_id=None,
        razorpay_key_secret=None,
        razorpay_webhook_secret=None,
    )


@contextlib.contextmanager
def api_under_test(
    work_dir: Path,
    *,
    workers: int,
    client_processes: int,
    timeout: float,
    profile_dir: Path | None = None,
) -> Iterator[ApiUnderTest]:
    """Private mongod and redis-server, the API with `workers` workers on a free port, and this
    process connected to the same database; all stopped again afterwards.

    The API never talks to Razorpay: it runs the payment stand-in with the stand-in's own
    secrets, whatever RAZORPAY_* the environment holds.
    """
    jwt_secret = secrets.token_urlsafe(32)
    with backends(work_dir) as servers:
        env = server_environment(
            servers,
            work_dir,
            HOST=HOST,
            PORT=str(free_port()),
            WORKERS=str(workers),
            LOG_LEVEL="WARNING",
            JWT_ALGORITHM="HS256",
            JWT_SECRET=jwt_secret,
            ACCESS_TOKEN_MINUTES=str(ACCESS_TOKEN_MINUTES),
            PAYMENT_PROVIDER=PaymentProviderName.STANDIN.value,
            # Blank is unset (settings.py); these win over a `.env` file.
            RAZORPAY_KEY_ID="",
            RAZORPAY_KEY_SECRET="",
            RAZORPAY_WEBHOOK_SECRET="",
        )
        settings = bench_settings(servers, jwt_secret)
        print(f"starting the API ({workers} workers)", file=sys.stderr)
        server = ApiServer(env, work_dir / "api.log")
        try:
            server.wait_ready()
            mongod_status: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
                servers.mongod.uri, serverSelectionTimeoutMS=5000
            )
            with mongod_status, asyncio.Runner(loop_factory=new_event_loop) as runner:
                mongo = connect_mongo(settings)
                try:
                    runner.run(init_documents(mongo, settings))
                    yield ApiUnderTest(
                        servers,
                        server,
                        settings,
                        runner,
                        mongod_status,
                        client_processes=client_processes,
                        timeout=timeout,
                        profile_dir=profile_dir,
                    )
                finally:
                    runner.run(mongo.close())
        finally:
            server.stop()


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()

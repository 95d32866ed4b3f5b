"""A closed-loop HTTP load client on httpx: `concurrency` connections, each sending its next
request as soon as its previous answer has arrived, until a fixed list of requests is done.

Each connection is an `httpx.AsyncClient` of its own with one keep-alive connection, as a wrk
connection is: one client shared by all connections cost about three times the client CPU per
request when measured on the 2-core development machine (3.0-3.7 ms against 0.9-1.2 ms for
`GET /healthz` at 50 and 250 connections), as its connection pool does work across all of its
connections for every request.

The client runs in separate processes (`processes`, spawned fresh for each run), never in the
bench's own process: the requests are split between them, every connection is opened (one
`GET /healthz`) before the clock starts, and all processes start together. Each reports the CPU
time it used while measuring, so a report can say whether the client was the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import itertools
import multiprocessing
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from typing import Any

import httpx

# The client processes and the bench wait at most this long for each other at the start line.
START_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Call:
    """One request: a POST of `body` (JSON) when given, else a GET; as the bearer of `token`,
    with `headers` added (a webhook's signature and event id)."""

    path: str
    body: bytes | None = None
    token: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Answer:
    seconds: float
    status: int  # 0: no HTTP answer; `body` then holds the exception's name
    body: bytes


@dataclass
class LoadResult:
    answers: list[Answer]  # in the order of the calls
    seconds: float  # from the start line to the last answer
    client_cpu_seconds: float  # used by the client processes while measuring
    processes: int


def run_load(
    base_url: str,
    calls: list[Call],
    *,
    concurrency: int,
    processes: int = 1,
    timeout: float = 60.0,
    at_start: Callable[[], None] | None = None,
) -> LoadResult:
    """Send `calls` with `concurrency` connections split over `processes` client processes.

    `at_start` runs in this process the moment the clients start (to read CPU counters).
    """
    processes = max(1, min(processes, concurrency, len(calls)))
    context = multiprocessing.get_context("spawn")
    start_line = context.Barrier(processes + 1)
    shares = _split(len(calls), processes)
    workers: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    try:
        for index, (first, end) in enumerate(shares):
            receiver, sender = context.Pipe(duplex=False)
            connections = concurrency // processes + (index < concurrency % processes)
            process = context.Process(
                target=_client_process,
                args=(base_url, calls[first:end], connections, timeout, start_line, sender),
                name=f"load-client-{index}",
                daemon=True,
            )
            with _children_import_this_module_as_main():
                process.start()
            sender.close()
            workers.append((process, receiver))
        try:
            start_line.wait(START_TIMEOUT_SECONDS)
        except threading.BrokenBarrierError:
            raise RuntimeError(
                _failed_workers(workers) or "the load clients did not start"
            ) from None
        if at_start is not None:
            at_start()
        reports = [_receive(process, receiver) for process, receiver in workers]
    finally:
        for worker, receiver in workers:
            receiver.close()
            if worker.is_alive():
                worker.terminate()
            worker.join()
    answers = [answer for report in reports for answer in report["answers"]]
    return LoadResult(
        answers=answers,
        seconds=max(report["finished"] for report in reports)
        - min(report["started"] for report in reports),
        client_cpu_seconds=sum(report["cpu_seconds"] for report in reports),
        processes=processes,
    )


@contextlib.contextmanager
def _children_import_this_module_as_main() -> Iterator[None]:
    """A spawned child first imports the parent's `__main__`: the benchmark script, and with it
    the whole app (3-5 s of CPU per client process on the 2-core machine, against 0.5 s for this
    module). multiprocessing imports `__main__.__spec__.name` instead when there is one, so
    name this module while the children start."""
    main = sys.modules["__main__"]
    script_spec = getattr(main, "__spec__", None)
    main.__spec__ = importlib.util.find_spec(__name__)
    try:
        yield
    finally:
        main.__spec__ = script_spec


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    bounds = [total * part // parts for part in range(parts + 1)]
    return list(itertools.pairwise(bounds))


def _receive(process: multiprocessing.process.BaseProcess, receiver: Connection) -> dict[str, Any]:
    try:
        report: dict[str, Any] = receiver.recv()
    except EOFError:
        process.join()
        raise RuntimeError(
            f"load client {process.name} exited with {process.exitcode} before reporting"
        ) from None
    if "error" in report:
        raise RuntimeError(f"load client {process.name} failed: {report['error']}")
    return report


def _failed_workers(workers: list[tuple[multiprocessing.process.BaseProcess, Connection]]) -> str:
    messages = []
    for process, receiver in workers:
        if receiver.poll(5.0):
            with contextlib.suppress(EOFError):
                report = receiver.recv()
                messages.append(f"{process.name}: {report.get('error', 'reported early')}")
        elif not process.is_alive():
            messages.append(f"{process.name} exited with {process.exitcode}")
    return "; ".join(messages)


# --- in each client process -------------------------------------------------------------------


def _client_process(
    base_url: str,
    calls: list[Call],
    connections: int,
    timeout: float,
    start_line: Barrier,
    sender: Connection,
) -> None:
    try:
        report = _new_event_loop_runner().run(
            _drive(base_url, calls, connections, timeout, start_line)
        )
    except BaseException as error:
        start_line.abort()
        sender.send({"error": f"{type(error).__name__}: {error}"})
        raise
    sender.send(report)
    sender.close()


def _new_event_loop_runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:  # the client is then a little slower, nothing else
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


async def _drive(
    base_url: str,
    calls: list[Call],
    connections: int,
    request_timeout: float,
    start_line: Barrier,
) -> dict[str, Any]:
    # Each client would otherwise load the CA certificates into a TLS context of its own (0.1 s
    # or more apiece), for plain-HTTP connections that never use it.
    tls = ssl.create_default_context()
    clients = [
        httpx.AsyncClient(
            base_url=base_url,
            timeout=request_timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={"content-type": "application/json"},
            trust_env=False,  # no proxies from the environment between us and the API
            verify=tls,
        )
        for _ in range(connections)
    ]
    try:
        opened = await asyncio.gather(*(client.get("/healthz") for client in clients))
        if bad := [response.status_code for response in opened if response.status_code != 200]:
            raise RuntimeError(f"GET /healthz answered {bad[0]} while opening connections")
        answers: list[Answer | None] = [None] * len(calls)
        next_call = iter(range(len(calls)))
        start_line.wait(START_TIMEOUT_SECONDS)  # blocks the loop, which has nothing else to do
        cpu_before, started = time.process_time(), time.time()
        await asyncio.gather(
            *(_connection(client, calls, next_call, answers) for client in clients)
        )
        finished, cpu_after = time.time(), time.process_time()
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    assert all(answer is not None for answer in answers)
    return {
        "answers": answers,
        "started": started,
        "finished": finished,
        "cpu_seconds": cpu_after - cpu_before,
    }


async def _connection(
    client: httpx.AsyncClient,
    calls: list[Call],
    next_call: Iterator[int],
    answers: list[Answer | None],
) -> None:
    for index in next_call:
        call = calls[index]
        headers = dict(call.headers)
        if call.token:
            headers["authorization"] = f"Bearer {call.token}"
        sent = time.perf_counter()
        try:
            if call.body is None:
                response = await client.get(call.path, headers=headers or None)
            else:
                response = await client.post(call.path, content=call.body, headers=headers or None)
            status, body = response.status_code, response.content
        except httpx.HTTPError as error:
            status, body = 0, type(error).__name__.encode()
        answers[index] = Answer(time.perf_counter() - sent, status, body)

"""What a measured run found, and how the benchmarks report it: `RunResult` (rates, latency
percentiles, answers by outcome, CPU time per process, mongod's transactions) and the Markdown
table and notes under it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from load_client import LoadResult

# What an answer was: its outcome (an order, an error code, a webhook's status) and the order
# number when it placed one.
Outcome = tuple[str, int | None]

CLIENT_BOUND_SHARE = 0.9  # client processes this busy are (close to) the bottleneck


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class RunResult:
    run: str  # "healthz", "placeOrder", "webhooks" ...
    concurrency: int
    requests: int
    seconds: float
    success: str  # the outcome the run is for: an order, OK, a webhook's "confirmed" ...
    succeeded: int  # answers with that outcome
    outcomes: dict[str, int]
    non_200: int
    latency_ms: dict[str, float]
    client_processes: int
    # CPU seconds used during the run by the client processes, the API (supervisor and workers),
    # mongod and redis-server.
    cpu_seconds: dict[str, float]
    # What mongod counted during the run (transactions started, committed, aborted).
    mongod: dict[str, int] = field(default_factory=dict)
    server_warnings: int = 0
    server_warning_samples: list[str] = field(default_factory=list)
    profile: dict[str, Any] | None = None

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def succeeded_per_second(self) -> float:
        return self.succeeded / self.seconds

    @property
    def errors(self) -> dict[str, int]:
        return {code: n for code, n in self.outcomes.items() if code != self.success}

    @property
    def client_busy_share(self) -> float:
        """How busy the client processes were, 1.0 = each used a whole core."""
        return self.cpu_seconds["client"] / (self.seconds * self.client_processes)

    @property
    def transactions_per_request(self) -> float:
        return self.mongod["transactions_started"] / self.requests

    @property
    def commands_per_request(self) -> float:
        """MongoDB commands the API sent per request (transactions' commits included)."""
        return self.mongod.get("commands", 0) / self.requests

    def commands_by_name(self) -> str:
        """MongoDB commands per request by name, most first ("find 4.0, insert 3.0")."""
        counts = {
            name.removeprefix("commands:"): n / self.requests
            for name, n in self.mongod.items()
            if name.startswith("commands:")
        }
        ordered = sorted(counts.items(), key=lambda item: -item[1])
        return ", ".join(f"{name} {n:.2f}" for name, n in ordered if n >= 0.005)

    def cpu_ms_per_request(self, who: str) -> float:
        return 1000 * self.cpu_seconds[who] / self.requests

    def as_dict(self) -> dict[str, Any]:
        """For the JSON report: the fields and the derived rates."""
        return asdict(self) | {
            "requests_per_second": round(self.requests_per_second, 1),
            "succeeded_per_second": round(self.succeeded_per_second, 1),
            "client_busy_share": round(self.client_busy_share, 3),
        }


def summarize(
    run: str,
    concurrency: int,
    load: LoadResult,
    outcomes: list[Outcome],
    cpu_seconds: dict[str, float],
    success: str,
) -> RunResult:
    latencies = sorted(answer.seconds * 1000 for answer in load.answers)
    counts = Counter(outcome for outcome, _ in outcomes)
    return RunResult(
        run=run,
        concurrency=concurrency,
        requests=len(load.answers),
        seconds=load.seconds,
        success=success,
        succeeded=counts[success],
        outcomes=dict(counts.most_common()),
        non_200=sum(answer.status != 200 for answer in load.answers),
        latency_ms={
            name: round(percentile(latencies, share), 2)
            for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        client_processes=load.processes,
        cpu_seconds={who: round(seconds, 3) for who, seconds in cpu_seconds.items()},
    )


# --- reporting --------------------------------------------------------------------------------


def describe_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {code}" for code, n in errors.items()) or "none"


def machine_lines(report: dict[str, Any]) -> list[str]:
    machine = report["machine"]
    return [
        f"- machine: {machine['nproc']} CPUs ({machine['cpu_model']}), Python {machine['python']}",
        f"- load average: {machine['load_average_at_start']} at start, "
        f"{report['load_average_at_end']} at end",
    ]


def markdown_table(results: list[RunResult], rate_header: str) -> list[str]:
    """One row per run; `rate_header` names the column of `succeeded` per second (none for
    healthz)."""
    lines = [
        f"| run | in flight | requests | requests/s | {rate_header} | p50 ms | p99 ms | errors "
        "| non-200 | transactions/request | MongoDB commands/request "
        "| CPU ms/request: API, mongod, client | client busy |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|",
    ]
    for r in results:
        rate = f"{r.succeeded_per_second:,.0f}" if r.run != "healthz" else "-"
        cpu = ", ".join(f"{r.cpu_ms_per_request(who):.2f}" for who in ("api", "mongod", "client"))
        lines.append(
            f"| {r.run} | {r.concurrency} | {r.requests:,} | {r.requests_per_second:,.0f} "
            f"| {rate} | {r.latency_ms['p50']:,.1f} | {r.latency_ms['p99']:,.1f} "
            f"| {describe_errors(r.errors)} | {r.non_200} | {r.transactions_per_request:.2f} "
            f"| {r.commands_per_request:.1f} | {cpu} "
            f"| {100 * r.client_busy_share:.0f} % |"
        )
    return lines


def notes(results: list[RunResult], compared: tuple[str, ...]) -> list[str]:
    """The `compared` runs' rates as shares of the healthz ceiling at the same concurrency, and
    warnings: client processes busy enough to set the pace, and what the API logged."""
    lines = []
    ceilings = {r.concurrency: r for r in results if r.run == "healthz"}
    for r in results:
        if r.run in compared and r.concurrency in ceilings:
            ceiling = ceilings[r.concurrency]
            lines.append(
                f"- {r.concurrency} in flight: {r.run} at {r.requests_per_second:,.0f}/s is "
                f"{100 * r.requests_per_second / ceiling.requests_per_second:.1f} % of the "
                f"healthz ceiling ({ceiling.requests_per_second:,.0f}/s)"
            )
    if busy := [r for r in results if r.client_busy_share >= CLIENT_BOUND_SHARE]:
        runs = ", ".join(f"{r.run} at {r.concurrency}" for r in busy)
        lines.append(
            f"- the client processes were {100 * CLIENT_BOUND_SHARE:.0f} %+ busy in: {runs}; "
            "there the client, not the API, sets the pace (try --client-processes 2)"
        )
    for r in results:
        if r.server_warnings:
            lines.append(
                f"- the API logged {r.server_warnings} warnings/errors during {r.run} at "
                f"{r.concurrency}, e.g.:"
            )
            lines += [f"    {sample}" for sample in r.server_warning_samples]
    return lines

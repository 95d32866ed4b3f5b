"""The API served for real, as `python -m server serve` serves it: uvicorn in a child process on
a free port, against the test mongod and Redis, for clients outside this process (Node, a
browser) to call over HTTP."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import httpx

from integrations.local_servers import LocalServer, free_port
from integrations.local_servers.process import poll_until_ready, spawn_attached
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# Importing the app, connecting and building indexes: seconds, on a busy machine more.
STARTUP_SECONDS = 60.0
# How long a request's log line may follow its answer.
LOG_LINE_SECONDS = 10.0
# What the child inherits from this environment; everything else it is told.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


class LiveServer:
    """One uvicorn process serving the app with the test `settings`, plus what is given in
    `environment`. Clients reach it at `url` (http://localhost:<port>)."""

    def __init__(self, settings: Settings, workdir: Path, **environment: str) -> None:
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.graphql_url = f"{self.url}/graphql"
        self._workdir = workdir
        self._log_path = workdir / "api.log"
        self._environment = {
            **{name: os.environ[name] for name in _INHERITED if name in os.environ},
            # Our code, not whichever checkout the virtualenv was installed from.
            "PYTHONPATH": str(ROOT),
            "ENVIRONMENT": settings.environment.value,
            "MONGODB_URI": str(settings.mongodb_uri),
            "MONGODB_DATABASE": settings.mongodb_database,
            "REDIS_URL": str(settings.redis_url),
            "REDIS_KEY_PREFIX": settings.redis_key_prefix,
            "SHOP_CURRENCY": settings.shop_currency,
            "BCRYPT_ROUNDS": str(settings.bcrypt_rounds),
            "QUERY_COST_THROTTLE_ENABLED": str(settings.query_cost_throttle_enabled).lower(),
            "DATA_DIR": str(workdir / "data"),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PUBLIC_URL": self.url,
            "LOG_LEVEL": "INFO",
            **environment,
        }
        self._server: LocalServer | None = None
        # For fixtures: the process holds state that the next test must not see.
        self.restart_pending = False

    def start(self) -> LiveServer:
        """Start the process and wait until /readyz says ready; raises LocalServerError with the
        end of its log if it exits or is not ready in time."""
        self.launch()
        return self.wait_until_ready()

    def launch(self) -> None:
        """Start the process without waiting for it (`wait_until_ready`): servers launched
        one after the other then start up side by side."""
        assert self._server is None, "already running"
        self._workdir.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log:
            # Run from the work directory, so that a developer's .env is not read.
            process = spawn_attached(
                [sys.executable, "-m", "server", "serve"],
                env=self._environment,
                cwd=self._workdir,
                output=log,
            )
        self._server = LocalServer("commerce-api", self.url, process, self._log_path)

    def wait_until_ready(self) -> LiveServer:
        """Wait until /readyz says ready (see `start`)."""
        assert self._server is not None, "launched"
        ready_url = f"http://127.0.0.1:{self.port}/readyz"

        def ready() -> bool:
            try:
                return httpx.get(ready_url, timeout=2.0).json().get("status") == "ready"
            except (httpx.HTTPError, ValueError):
                return False

        try:
            poll_until_ready(
                self._server,
                time.monotonic() + STARTUP_SECONDS,
                "answer /readyz with status ready",
                f"See {self._log_path}.",
                ready,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=15.0)
            self._server = None

    def restart(self) -> None:
        """A new process on the same port: whatever the old one held in memory is gone."""
        self.stop()
        self.start()
        self.restart_pending = False

    def log_size(self) -> int:
        """Where the log ends now: pass it to `log` to read what came after."""
        return self._log_path.stat().st_size

    def log(self, since: int = 0) -> str:
        with self._log_path.open("rb") as log:
            log.seek(since)
            return log.read().decode("utf-8", errors="replace")

    def log_lines(
        self, pattern: re.Pattern[str], count: int, since: int = 0
    ) -> list[re.Match[str]]:
        """The matches of `pattern` in the log since `since`, once there are `count` of them: a
        request's log line is written after its answer is sent, so a client may get there first.
        Fails with the log when they do not all appear within LOG_LINE_SECONDS."""
        deadline = time.monotonic() + LOG_LINE_SECONDS
        while True:
            log = self.log(since)
            matches = list(pattern.finditer(log))
            if len(matches) >= count:
                return matches
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{len(matches)} of {count} log lines {pattern.pattern}:\n{log}"
                )
            time.sleep(0.05)

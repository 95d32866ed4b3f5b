"""Starting the embedded servers again when they die (development): `ServerSupervisor`.

A killed redis-server or a crashed mongod would otherwise stay down until the developer restarts
everything. The supervisor notices that a server's process exited and starts it again on the same
port and data directory (`LocalServer.start_again`), so the clients reconnect by themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from integrations.local_servers.process import LocalServer, LocalServerError

logger = logging.getLogger("commerce.local_servers")


class _Watched:
    """One server and where its restarts stand."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.started_at = time.monotonic()
        self.failures = 0  # starts in a row that failed, or were followed by a quick death
        self.next_start: float | None = None  # when to try, once its exit was noticed


class ServerSupervisor:
    """Watches servers from a thread of its own and starts a server again when its process exits.

    Restarts back off exponentially, from `first_delay_seconds` up to `max_delay_seconds`, while
    they fail or the server dies again within `stable_after_seconds`: a server that cannot run
    (a full disk, a port someone else took) is retried slowly, with a log line each time.

    On Linux a server this thread starts gets SIGTERM when the thread ends (see `spawn`), so stop
    the supervisor only when the servers are stopped too: `stop()`, then `LocalServer.stop()`.
    """

    def __init__(
        self,
        servers: Iterable[LocalServer],
        *,
        poll_interval_seconds: float = 0.5,
        first_delay_seconds: float = 0.5,
        max_delay_seconds: float = 30.0,
        stable_after_seconds: float = 30.0,
    ) -> None:
        self._watched = [_Watched(server) for server in servers]
        self._poll_interval = poll_interval_seconds
        self._first_delay = first_delay_seconds
        self._max_delay = max_delay_seconds
        self._stable_after = stable_after_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="embedded-server-supervisor", daemon=True
        )

    def start(self) -> ServerSupervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; a start under way is finished first. The servers keep running."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self._poll_interval):
            for watched in self._watched:
                if self._stopping.is_set():
                    return
                self._check(watched)

    def _delay(self, failures: int) -> float:
        return float(min(self._max_delay, self._first_delay * 2 ** min(failures, 30)))

    def _check(self, watched: _Watched) -> None:
        server = watched.server
        code = server.process.poll()
        if code is None:
            return
        now = time.monotonic()
        if watched.next_start is None:
            if now - watched.started_at < self._stable_after:
                watched.failures += 1
            else:
                watched.failures = 0
            delay = self._delay(watched.failures)
            watched.next_start = now + delay
            logger.warning(
                "embedded %s (pid %d) exited with code %s; starting it again on port %d in "
                "%.1fs (its log: %s)",
                server.name,
                server.process.pid,
                code,
                server.port,
                delay,
                server.log_path,
            )
            return
        if now < watched.next_start:
            return
        try:
            server.start_again()
        except (LocalServerError, OSError) as error:  # OSError: its data directory, say
            watched.failures += 1
            delay = self._delay(watched.failures)
            watched.next_start = time.monotonic() + delay
            logger.warning(
                "embedded %s could not start again: %s; next try in %.1fs",
                server.name,
                error,
                delay,
            )
            return
        watched.started_at = time.monotonic()
        watched.next_start = None
        logger.info(
            "embedded %s is running again on port %d (pid %d)",
            server.name,
            server.port,
            server.process.pid,
        )

"""Several uvicorn workers, each accepting on a listening socket of its own.

uvicorn's multi-worker mode binds one socket and lets every worker accept from it: an idle
worker that the kernel woke last is woken first again, so under a steady load one worker may take
every connection while the other sits idle. Here each worker gets its own socket, bound to the
same address with SO_REUSEPORT, and the kernel spreads new connections over the listening
sockets by a hash of their addresses.
"""

from __future__ import annotations

import logging
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

logger = logging.getLogger("commerce")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host`:`port` with SO_REUSEPORT (not yet listening), for a worker
    process to inherit. Raises OSError when the address is taken by a socket without it."""
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    bound = socket.socket(family, kind, protocol)
    try:
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        bound.bind(address)
    except OSError:
        bound.close()
        raise
    bound.set_inheritable(True)
    return bound


class ReusePortSupervisor(Multiprocess):
    """uvicorn's worker supervisor (a dead or hung worker is replaced, SIGINT and SIGTERM stop
    them all, SIGHUP replaces them one by one), except that every worker it starts gets a socket
    of its own from `reuse_port_socket`.

    The supervisor takes a worker's socket each time it reads `sockets`, just before it starts
    the worker; once started, the worker holds its own copy and the supervisor's is closed, so a
    dead worker's socket leaves the group with it rather than queueing connections nobody takes.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        self._handed_out: list[socket.socket] = []
        super().__init__(config, sockets=[])
        logger.info(
            "%d workers, each on its own socket at %s:%d (SO_REUSEPORT)",
            config.workers,
            config.host,
            config.port,
        )

    @property
    def sockets(self) -> list[socket.socket]:
        bound = reuse_port_socket(self.config.host, self.config.port)
        self._handed_out.append(bound)
        return [bound]

    @sockets.setter
    def sockets(self, _: list[socket.socket]) -> None:
        """The parent's constructor sets the one shared socket; there is none."""

    def init_processes(self) -> None:
        super().init_processes()
        self._close_handed_out()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self._close_handed_out()

    def handle_signals(self) -> None:
        super().handle_signals()
        self._close_handed_out()

    def _close_handed_out(self) -> None:
        # Every worker given a socket has been started: it has its copy.
        while self._handed_out:
            self._handed_out.pop().close()

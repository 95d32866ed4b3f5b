"""A TCP proxy in front of the test mongod, to make MongoDB stall or go away under a running app.

An app needs MongoDB to start (its lifespan binds the documents and creates indexes), so it starts
behind the proxy while it forwards; then the test makes MongoDB fail:

- `stall()`: a paused mongod (SIGSTOP, a hung disk). Connections are accepted, and what clients
  send is read, but nothing reaches MongoDB and nothing comes back.
- `shut()`: a dead mongod. The port is closed and every connection through it is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Self

HOST = "127.0.0.1"
_CHUNK_BYTES = 64 * 1024


class MongoProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._stalled = False

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def uri(self) -> str:
        """A MongoDB URI through the proxy: a direct connection, so that the client does not
        find the replica set's members and go around the proxy."""
        return f"mongodb://{HOST}:{self.port}/?directConnection=true"

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        return self

    def stall(self) -> None:
        self._stalled = True

    async def shut(self) -> None:
        """Stop listening and drop every connection: the port is closed from now on."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        self._writers.add(client)
        try:
            upstream_reader, upstream = await asyncio.open_connection(*self._upstream)
        except OSError:
            client.close()
            return
        self._writers.add(upstream)
        try:
            await asyncio.gather(
                self._pump(client_reader, upstream), self._pump(upstream_reader, client)
            )
        finally:
            for writer in (client, upstream):
                writer.close()
                self._writers.discard(writer)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(_CHUNK_BYTES):
                if self._stalled:
                    continue  # swallowed: a stalled server neither receives nor answers
                writer.write(data)
                await writer.drain()
        # One side closed: close the other, so the pump in the other direction ends too.
        writer.close()

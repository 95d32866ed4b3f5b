"""The ceiling of `make bench`: a bare Starlette app that answers `GET /graphql` with a fixed body.

    .venv/bin/python bench/fixed_bytes.py      # PORT, WORKERS, FIXED_BYTES from the environment

It runs under the same uvicorn settings as `python -m server serve` (workers, uvloop, httptools,
proxy headers) and does nothing per request but send `FIXED_BYTES` bytes of JSON, so what it
serves is what this server, client and machine can do at all; the benchmark reports the API's
numbers as a share of it. `GET /readyz` answers too, so the harness can wait for it.
"""

from __future__ import annotations

import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def fixed_body(size: int) -> bytes:
    """`size` bytes of JSON: `{"data":"xxx…"}`."""
    frame = b'{"data":""}'
    return frame[:-2] + b"x" * max(size - len(frame), 0) + frame[-2:]


def app_from_environment() -> Starlette:
    body = fixed_body(int(os.environ["FIXED_BYTES"]))

    async def fixed(request: Request) -> Response:
        return Response(body, media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response(b'{"status":"ready"}', media_type="application/json")

    return Starlette(routes=[Route("/graphql", fixed), Route("/readyz", ready)])


def main() -> None:
    uvicorn.run(
        "fixed_bytes:app_from_environment",
        factory=True,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        workers=int(os.environ.get("WORKERS", "1")),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        proxy_headers=True,
        app_dir=os.path.dirname(os.path.abspath(__file__)),
    )


if __name__ == "__main__":
    main()

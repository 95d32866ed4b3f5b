"""Composition root: settings, lifespan, `create_app`, routes, middleware and the command line.

    python -m server run            embedded MongoDB + Redis when no URIs are set, seed, serve,
                                    with a job worker beside the API
    python -m server serve          serve only (MONGODB_URI and REDIS_URL point at running servers)
    python -m server worker         run background jobs (emails) until stopped; --once: what is due
    python -m server seed           load the demo catalog if the database has no products
    python -m server export-schema  write schema.graphql
    python -m server create-admin --email EMAIL   promote (or create) an admin

`app.py` builds the ASGI app, `worker.py` the job worker, `commands.py` is the command line.
Nothing imports this package except the tests, the benchmark and uvicorn's workers.
"""

from server.app import (
    SENT_EMAILS_COLLECTION,
    app_from_environment,
    build_outbox,
    build_services,
    connect_mongo,
    create_app,
    init_documents,
)
from server.commands import create_admin, main

__all__ = [
    "SENT_EMAILS_COLLECTION",
    "app_from_environment",
    "build_outbox",
    "build_services",
    "connect_mongo",
    "create_admin",
    "create_app",
    "init_documents",
    "main",
]

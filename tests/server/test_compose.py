"""docker-compose.yml starts as documented: JWT_SECRET and FRONTEND_URL are required (compose says
so), the optional settings it lists reach the services, the API's image store is a volume where
the image's DATA_DIR puts it, a worker runs the jobs with the API's settings, and those settings
pass production's checks. The file is read with PyYAML; where a
compose binary is present, `docker compose config` checks it too (it needs no Docker daemon)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from settings import Environment, Settings

ROOT = Path(__file__).parent.parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = ("seed", "api", "worker")
JWT_MESSAGE = "set JWT_SECRET to a random string of 32+ characters"
FRONTEND_MESSAGE = "set FRONTEND_URL to your storefront's https address"
A_SECRET = "a-compose-test-secret-of-more-than-32-characters"
REQUIRED = {"JWT_SECRET": A_SECRET, "FRONTEND_URL": "https://shop.example"}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::(?P<kind>[-?])(?P<rest>[^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def image_environment() -> dict[str, str]:
    """The runtime stage's `ENV NAME=value` lines (the stage the services run)."""
    runtime = DOCKERFILE.read_text().split(" AS runtime", 1)[1]
    return dict(re.findall(r"^ENV (\w+)=(\S+)$", runtime, flags=re.MULTILINE))


def interpolated(value: str, variables: dict[str, str]) -> str:
    """What compose makes of `${NAME}`, `${NAME:-default}` and `${NAME:?message}`."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match["name"], match["kind"], match["rest"]
        if variables.get(name):
            return variables[name]
        if kind == "?":
            raise LookupError(rest)
        return rest if kind == "-" else ""

    return INTERPOLATION.sub(one, value)


def compose_command() -> list[str] | None:
    """`docker compose` (v2) if the plugin answers, else a standalone `docker-compose`."""
    docker = shutil.which("docker")
    if docker:
        version = subprocess.run(  # noqa: S603
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if version.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def compose_config(tmp_path: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`compose config` with only these variables: nothing from the caller's shell or a `.env`."""
    command = compose_command()
    if command is None:
        pytest.skip(
            "no compose binary: neither `docker compose` (the Docker CLI with its compose plugin) "
            "nor `docker-compose` is installed"
        )
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    environment = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), **variables}
    return subprocess.run(  # noqa: S603
        [*command, "--env-file", str(empty_env_file), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "message"), [("JWT_SECRET", JWT_MESSAGE), ("FRONTEND_URL", FRONTEND_MESSAGE)]
)
def test_every_app_service_requires_the_secret_and_the_frontend_url_with_a_message(
    variable: str, message: str
) -> None:
    services = compose()["services"]

    for name in APP_SERVICES:
        value = services[name]["environment"][variable]
        assert value == "${" + variable + ":?" + message + "}", name
        with pytest.raises(LookupError, match=re.escape(message)):
            interpolated(value, {})
        with pytest.raises(LookupError):
            interpolated(value, {variable: ""})


def settings_of(service: dict[str, Any], variables: dict[str, str]) -> Settings:
    """The settings a service of the compose file starts with, given these shell variables."""
    environment = {**image_environment(), **service["environment"]}
    values = {key: interpolated(str(value), variables) for key, value in environment.items()}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in values.items():
            patch.setenv(key, value)
        return Settings(_env_file=None)  # type: ignore[call-arg]


def test_a_worker_runs_the_jobs_with_the_api_settings() -> None:
    services = compose()["services"]
    worker, api = services["worker"], services["api"]

    assert worker["command"] == ["python", "-m", "server", "worker"]
    assert worker["environment"] == {
        name: value for name, value in api["environment"].items() if name != "WORKERS"
    }
    assert worker["build"] == api["build"]
    assert set(worker["depends_on"]) == {"mongo", "redis", "cache"}


def test_the_api_keeps_its_images_in_a_named_volume_where_the_app_writes_them() -> None:
    document = compose()
    data_dir = image_environment()["DATA_DIR"]
    media_dir = Settings(_env_file=None, data_dir=Path(data_dir)).media_dir  # type: ignore[call-arg]

    mounts = [volume.split(":") for volume in document["services"]["api"]["volumes"]]

    assert [(source, target) for source, target, *_ in mounts if target == str(media_dir)] == [
        ("media", "/data/media")
    ]
    assert "media" in document["volumes"]
    assert "DATA_DIR" not in document["services"]["api"]["environment"]
    # The directory a new named volume copies, owner included, belongs to the image's user.
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r"useradd [^\n]*--uid 10001[^\n]* app", dockerfile)
    assert re.search(rf"mkdir -p {media_dir} && chown -R app:app {data_dir}\n", dockerfile)
    assert "USER app:app" in dockerfile


def test_the_worker_writes_the_search_index_the_api_reads_in_one_named_volume() -> None:
    document = compose()
    data_dir = image_environment()["DATA_DIR"]
    index = Settings(_env_file=None, data_dir=Path(data_dir)).search_index_path  # type: ignore[call-arg]

    for name in ("worker", "api"):
        mounts = [volume.split(":") for volume in document["services"][name]["volumes"]]
        assert [source for source, target, *_ in mounts if target == str(index)] == ["search"]
    assert "search" in document["volumes"]
    assert re.search(
        rf"mkdir -p {index} &&[^\n]* chown -R app:app {data_dir}\n", DOCKERFILE.read_text()
    )


def test_the_compose_settings_pass_production_checks() -> None:
    services = compose()["services"]
    for name in APP_SERVICES:
        settings = settings_of(services[name], REQUIRED)

        assert settings.environment is Environment.PRODUCTION, name
        assert settings.jwt_secret.get_secret_value() == A_SECRET
        assert settings.payments is None  # no Razorpay keys: cash on delivery only
        assert settings.sendgrid_api_key is None
        assert not settings.uses_embedded_servers
        # The optional settings left out are blank, which means unset.
        assert settings.cors_origins == ["https://shop.example"]
        assert (settings.serves_graphiql, settings.allows_introspection) == (False, False)
        assert settings.public_url == "http://localhost:8000"
        assert settings.trusted_documents_manifest is None
        assert settings.google_client_id is None
        assert settings.cloudinary_url is None
        assert settings.metrics_token is None
        assert settings.logs_as_json  # production's default


def test_the_optional_settings_compose_lists_reach_every_app_service() -> None:
    given = {
        **REQUIRED,
        "CORS_ALLOW_ORIGINS": "https://shop.example,https://admin.shop.example",
        "PUBLIC_URL": "https://api.shop.example",
        "GRAPHIQL": "true",
        "INTROSPECTION": "true",
        "FIELD_SUGGESTIONS": "true",
        "TRUSTED_DOCUMENTS_MANIFEST": "/config/manifest.json",
        "FORWARDED_ALLOW_IPS": "10.0.0.1",
        "REFRESH_COOKIE_SAMESITE": "none",
        "GOOGLE_CLIENT_ID": "client-id",
        "METRICS_TOKEN": "a-metrics-token-of-24-characters-or-more",
        "LOG_FORMAT": "text",
    }
    services = compose()["services"]
    for name in APP_SERVICES:
        settings = settings_of(services[name], given)

        assert settings.cors_origins == ["https://shop.example", "https://admin.shop.example"]
        assert settings.public_url == "https://api.shop.example"
        assert (settings.serves_graphiql, settings.allows_introspection) == (True, True)
        assert settings.suggests_fields
        assert str(settings.trusted_documents_manifest) == "/config/manifest.json"
        assert settings.forwarded_allow_ips == "10.0.0.1"
        assert settings.refresh_cookie_samesite == "none"
        assert settings.google_client_id == "client-id"
        assert settings.metrics_token is not None
        assert not settings.logs_as_json


def test_the_redis_urls_name_the_two_redis_services_and_their_policies() -> None:
    services = compose()["services"]
    environment = services["api"]["environment"]

    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert environment["CACHE_REDIS_URL"] == "redis://cache:6379/0"
    main_policy = services["redis"]["command"]
    cache_policy = services["cache"]["command"]
    assert main_policy[main_policy.index("--maxmemory-policy") + 1] == "noeviction"
    assert cache_policy[cache_policy.index("--maxmemory-policy") + 1] == "allkeys-lru"


def test_the_api_starts_after_a_successful_seed() -> None:
    services = compose()["services"]

    assert services["seed"]["command"] == ["python", "-m", "server", "seed"]
    assert services["api"]["depends_on"]["seed"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize(
    ("variable", "message"), [("JWT_SECRET", JWT_MESSAGE), ("FRONTEND_URL", FRONTEND_MESSAGE)]
)
def test_compose_config_refuses_to_run_without_a_required_variable(
    tmp_path: Path, variable: str, message: str
) -> None:
    others = {name: value for name, value in REQUIRED.items() if name != variable}
    for variables in (others, {**others, variable: ""}):
        result = compose_config(tmp_path, variables)

        assert result.returncode != 0, variables
        assert message in result.stderr


def test_compose_config_resolves_the_stack_with_the_required_variables(tmp_path: Path) -> None:
    result = compose_config(tmp_path, REQUIRED)

    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    services = resolved["services"]
    assert {"mongo", "redis", "cache", "seed", "api", "worker"} <= set(services)
    for name in APP_SERVICES:
        assert services[name]["environment"]["JWT_SECRET"] == A_SECRET
        assert services[name]["environment"]["FRONTEND_URL"] == "https://shop.example"
        assert services[name]["environment"]["SENDGRID_API_KEY"] in ("", None)
    assert services["worker"]["command"] == ["python", "-m", "server", "worker"]
    media = [
        volume
        for volume in services["api"]["volumes"]
        if (volume["target"] if isinstance(volume, dict) else volume.split(":")[1]) == "/data/media"
    ]
    assert len(media) == 1
    assert "media" in resolved["volumes"]

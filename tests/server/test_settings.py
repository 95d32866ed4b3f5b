"""Configuration is validated at startup with clear messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from settings import Environment, Settings


def test_production_refuses_to_start_without_database_uris() -> None:
    with pytest.raises(
        ValidationError, match="MONGODB_URI and REDIS_URL must be set in production"
    ):
        Settings(_env_file=None, environment=Environment.PRODUCTION)  # type: ignore[call-arg]


def test_production_refuses_the_development_jwt_secret_and_short_ones() -> None:
    uris = {"mongodb_uri": "mongodb://db:27017/?replicaSet=rs0", "redis_url": "redis://c:6379/0"}
    with pytest.raises(ValidationError, match="JWT_SECRET must be set to a secret of your own"):
        Settings(_env_file=None, environment=Environment.PRODUCTION, **uris)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(_env_file=None, environment=Environment.PRODUCTION, jwt_secret="short", **uris)  # type: ignore[call-arg]


def test_rs256_needs_a_key_pair() -> None:
    with pytest.raises(ValidationError, match="RS256 needs JWT_PRIVATE_KEY and JWT_PUBLIC_KEY"):
        Settings(_env_file=None, jwt_algorithm="RS256")  # type: ignore[call-arg]


def test_production_with_uris_and_a_secret_is_accepted() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment=Environment.PRODUCTION,
        mongodb_uri="mongodb://db:27017/?replicaSet=rs0",
        redis_url="redis://cache:6379/0",
        jwt_secret="x" * 40,
        frontend_url="https://shop.example",
    )

    assert not settings.uses_embedded_servers
    assert settings.secure_cookies
    assert settings.cors_origins == ["https://shop.example"]


PRODUCTION = {
    "environment": Environment.PRODUCTION,
    "mongodb_uri": "mongodb://db:27017/?replicaSet=rs0",
    "redis_url": "redis://cache:6379/0",
    "jwt_secret": "x" * 40,
}


@pytest.mark.parametrize("frontend_url", [None, "http://shop.example", "http://localhost:3000"])
def test_production_needs_an_https_frontend_url(frontend_url: str | None) -> None:
    given = {} if frontend_url is None else {"frontend_url": frontend_url}

    with pytest.raises(ValidationError, match="FRONTEND_URL must be set to your storefront's"):
        Settings(_env_file=None, **PRODUCTION, **given)  # type: ignore[call-arg]


def test_production_allows_only_https_origins() -> None:
    problem = "https:// origins only in production: http://a.example"
    with pytest.raises(ValidationError, match=re.escape(problem)):
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            **PRODUCTION,
            frontend_url="https://shop.example",
            cors_allow_origins=["https://shop.example", "http://a.example"],
        )


@pytest.mark.parametrize(
    ("origin", "problem"),
    [
        ("*", "'\\*' is refused: with credentials it would let any site"),
        ("https://Shop.example", "write 'https://shop.example'"),
        ("https://shop.example:443", "write 'https://shop.example'"),
        ("http://shop.example:80", "write 'http://shop.example'"),
        ("https://shop.example/", "write 'https://shop.example'"),
        ("https://shop.example/app", "write 'https://shop.example'"),
        ("https://user:secret@shop.example", "has a user name or password"),
        ("https://shop.example:https", "has a port that is not a number"),
        ("ftp://shop.example", "is not an http:// or https:// URL with a host"),
        ("shop.example", "is not an http:// or https:// URL with a host"),
        ("https://bücher.example", "has a non-ASCII host"),
    ],
)
def test_cors_origins_must_be_written_as_a_browser_sends_them(origin: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=f"CORS_ALLOW_ORIGINS: .*{problem}"):
        Settings(_env_file=None, cors_allow_origins=[origin])  # type: ignore[call-arg]


def test_origins_as_browsers_send_them_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    origins = ["https://shop.example", "http://localhost:3000", "https://[::1]:8443"]
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", ",".join(origins))

    assert Settings(_env_file=None).cors_origins == origins  # type: ignore[call-arg]


def test_the_origin_of_frontend_url_is_the_one_a_browser_sends() -> None:
    settings = Settings(_env_file=None, frontend_url="HTTPS://Shop.Example:443/app/")  # type: ignore[call-arg]

    assert settings.cors_origins == ["https://shop.example"]


def test_a_frontend_url_without_an_origin_is_refused() -> None:
    with pytest.raises(ValidationError, match="FRONTEND_URL 'https://shop:x' has a port that"):
        Settings(_env_file=None, frontend_url="https://shop:x")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 0),
        ("workers", 0),
        ("shop_currency", "rupees"),
        ("mongodb_database", "a/b"),
        ("cache_ttl_seconds", 0),
        ("log_level", "LOUD"),
    ],
)
def test_out_of_range_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(_env_file=None, **{field: value})  # type: ignore[call-arg]


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKERS", "4")
    monkeypatch.setenv("CACHE_ENABLED", "false")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert (settings.workers, settings.cache_enabled) == (4, False)


@pytest.mark.parametrize(
    ("host", "port", "public_url"),
    [
        ("127.0.0.1", 8000, "http://localhost:8000"),
        ("127.0.0.1", 8123, "http://localhost:8123"),
        ("0.0.0.0", 9000, "http://localhost:9000"),  # noqa: S104
        ("localhost", 8001, "http://localhost:8001"),
        ("::1", 8002, "http://localhost:8002"),
        ("10.1.2.3", 8080, "http://10.1.2.3:8080"),
        ("shop.internal", 80, "http://shop.internal:80"),
        ("fd00::5", 8000, "http://[fd00::5]:8000"),
    ],
)
def test_the_public_url_follows_host_and_port_unless_set(
    host: str, port: int, public_url: str
) -> None:
    settings = Settings(_env_file=None, host=host, port=port)  # type: ignore[call-arg]

    assert settings.public_url == public_url


def test_an_explicit_public_url_is_kept_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("PUBLIC_URL", "https://api.shop.example")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert (settings.port, settings.public_url) == (8123, "https://api.shop.example")


def test_a_blank_public_url_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("PUBLIC_URL", " ")

    assert Settings(_env_file=None).public_url == "http://localhost:8123"  # type: ignore[call-arg]


def test_the_json_body_limit_may_not_exceed_the_upload_limit() -> None:
    with pytest.raises(ValidationError, match="MAX_JSON_REQUEST_BYTES must not exceed"):
        Settings(_env_file=None, max_json_request_bytes=2 << 20, max_request_bytes=1 << 20)  # type: ignore[call-arg]


def test_hsts_is_sent_only_in_production() -> None:
    development = Settings(_env_file=None, hsts_max_age_seconds=600)  # type: ignore[call-arg]
    production = development.model_copy(update={"environment": Environment.PRODUCTION})

    assert (development.hsts_seconds, production.hsts_seconds) == (0, 600)


def test_trusted_documents_only_needs_a_manifest_and_no_graphiql() -> None:
    with pytest.raises(
        ValidationError, match="TRUSTED_DOCUMENTS_ONLY needs TRUSTED_DOCUMENTS_MANIFEST"
    ):
        Settings(_env_file=None, trusted_documents_only=True)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="GRAPHIQL cannot be on with TRUSTED_DOCUMENTS_ONLY"):
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            trusted_documents_manifest="manifest.json",
            trusted_documents_only=True,
            graphiql=True,
        )


@pytest.mark.parametrize("environment", list(Environment))
def test_trusted_documents_only_serves_no_graphiql_and_leaves_introspection_to_the_manifest(
    environment: Environment,
) -> None:
    trusted = {"trusted_documents_manifest": "manifest.json", "trusted_documents_only": True}
    production = {
        "mongodb_uri": "mongodb://db:27017/?replicaSet=rs0",
        "redis_url": "redis://cache:6379/0",
        "jwt_secret": "x" * 40,
        "frontend_url": "https://shop.example",
    }
    fields = {**trusted, **production, "environment": environment}

    default = Settings(_env_file=None, **fields)  # type: ignore[call-arg]
    no_introspection = Settings(_env_file=None, introspection=False, **fields)  # type: ignore[call-arg]

    assert not default.serves_graphiql
    assert default.allows_introspection
    assert not no_introspection.allows_introspection


@pytest.mark.parametrize(
    ("urls", "problem"),
    [
        ({}, "REDIS_CLUSTER needs REDIS_URL"),
        ({"redis_url": "redis://node-1:6379/0"}, "REDIS_CLUSTER needs JOBS_REDIS_URL"),
        (
            {"redis_url": "redis://node-1:6379/0", "jobs_redis_url": "redis://node-1:6379/0"},
            "REDIS_CLUSTER needs JOBS_REDIS_URL",
        ),
    ],
)
def test_a_redis_cluster_needs_a_node_and_a_plain_redis_for_the_job_queue(
    urls: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(_env_file=None, redis_cluster=True, **urls)  # type: ignore[call-arg]


def test_the_job_queue_uses_jobs_redis_url_else_redis_url() -> None:
    clustered = Settings(
        _env_file=None,  # type: ignore[call-arg]
        redis_cluster=True,
        redis_url="redis://node-1:6379/0",
        jobs_redis_url="redis://queue:6379/0",
    )
    plain = Settings(_env_file=None, redis_url="redis://main:6379/0")  # type: ignore[call-arg]

    assert clustered.job_queue_redis_url == "redis://queue:6379/0"
    assert plain.job_queue_redis_url == "redis://main:6379/0"


def test_the_search_index_lives_under_data_dir_unless_set_and_never_in_the_served_media(
    tmp_path: Path,
) -> None:
    default = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    blank = Settings(_env_file=None, data_dir=tmp_path, search_index_dir=" ")  # type: ignore[call-arg]
    elsewhere = Settings(_env_file=None, search_index_dir=tmp_path / "index")  # type: ignore[call-arg]

    assert default.search_index_path == blank.search_index_path == tmp_path / "search"
    assert elsewhere.search_index_path == tmp_path / "index"
    with pytest.raises(ValidationError, match="SEARCH_INDEX_DIR must not be inside"):
        Settings(_env_file=None, data_dir=tmp_path, search_index_dir=tmp_path / "media" / "i")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="search_commit_interval"):
        Settings(_env_file=None, search_commit_interval=0)  # type: ignore[call-arg]

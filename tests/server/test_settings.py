"""Configuration is validated at startup with clear messages."""

from __future__ import annotations

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
    )

    assert not settings.uses_embedded_servers
    assert settings.secure_cookies


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
    }
    fields = {**trusted, **production, "environment": environment}

    default = Settings(_env_file=None, **fields)  # type: ignore[call-arg]
    no_introspection = Settings(_env_file=None, introspection=False, **fields)  # type: ignore[call-arg]

    assert not default.serves_graphiql
    assert default.allows_introspection
    assert not no_introspection.allows_introspection

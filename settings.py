"""Typed configuration, read once from the environment and `.env`.

Every setting is documented in the README's configuration table. Development defaults are safe on a
laptop; `Settings` refuses values that are unsafe in production (see `_refuse_unsafe_production`).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """All configuration of the service. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT

    # Databases. Unset URIs mean "start the embedded servers under data_dir" (development only).
    mongodb_uri: str | None = None
    mongodb_database: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")] = "commerce"
    redis_url: str | None = None
    redis_key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_:.-]*$")] = "commerce:"
    data_dir: Path = Path(".data")
    embedded_mongo_port: Annotated[int, Field(ge=1024, le=65535)] = 27027
    embedded_redis_port: Annotated[int, Field(ge=1024, le=65535)] = 6390

    # HTTP server.
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    graphiql: bool = True
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"

    # Catalog.
    shop_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "INR"
    seed_products: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    seed_random_seed: int = 2024

    # Query result cache.
    cache_enabled: bool = True
    cache_ttl_seconds: Annotated[int, Field(ge=1, le=86_400)] = 300
    # Larger results are served but not cached: a few huge entries would evict many small ones.
    cache_max_entry_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 512 * 1024
    # After Redis fails, skip it for this long instead of paying a timeout on every request.
    cache_retry_after_seconds: Annotated[float, Field(ge=0, le=600)] = 5.0
    redis_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 1.0
    redis_max_connections: Annotated[int, Field(ge=1, le=10_000)] = 100

    # GraphQL limits.
    max_query_depth: Annotated[int, Field(ge=2, le=50)] = 12
    max_aliases: Annotated[int, Field(ge=1, le=1000)] = 30
    max_tokens: Annotated[int, Field(ge=100, le=100_000)] = 5000

    @property
    def uses_embedded_servers(self) -> bool:
        return self.mongodb_uri is None or self.redis_url is None

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            missing = [
                name
                for name, value in (
                    ("MONGODB_URI", self.mongodb_uri),
                    ("REDIS_URL", self.redis_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} must be set in production; "
                    "the embedded servers are for development only"
                )
        return self

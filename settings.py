"""Typed configuration, read once from the environment and `.env`.

Every setting is documented in the README's configuration table. Development defaults are safe on a
laptop; `Settings` refuses values that are unsafe in production (see `_refuse_unsafe_production`).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import orjson
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEVELOPMENT_JWT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105
# Listening addresses that mean "this machine" to a browser on it.
_LOCAL_HOSTS = frozenset({"127.0.0.1", "0.0.0.0", "localhost", "::1", "::"})  # noqa: S104


# An origin's port is left out when it is its scheme's default: a browser never sends these.
_DEFAULT_PORTS = {"http": 80, "https": 443}


def browser_origin(url: str) -> str:
    """The origin a browser sends for pages at `url`: `scheme://host[:port]`, in lower case,
    without the scheme's default port. ValueError (saying why) for a URL that has none: another
    scheme, no host, a user name or password, a port that is not a number, a non-ASCII host."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("is not an http:// or https:// URL with a host")
    if "@" in parts.netloc:
        raise ValueError("has a user name or password; a browser's Origin never does")
    if not parts.hostname.isascii():
        raise ValueError("has a non-ASCII host: write it as a browser sends it (punycode, xn--)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 0 to 65535") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")


class JwtAlgorithm(enum.StrEnum):
    HS256 = "HS256"
    RS256 = "RS256"
    ES256 = "ES256"


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(enum.StrEnum):
    TEXT = "text"  # one readable line per record (development)
    JSON = "json"  # one JSON object per line, for log shippers (production)


class SearchEngineName(enum.StrEnum):
    TANTIVY = "tantivy"  # an index on disk, kept by the worker from MongoDB's change stream
    MONGO = "mongo"  # MongoDB's $text: no index to keep, slow past some thousands of matches


class PaymentProviderName(enum.StrEnum):
    RAZORPAY = "razorpay"
    STANDIN = "standin"  # a local stand-in with Razorpay's ids, signatures and webhooks


# What the stand-in signs with when no Razorpay secrets are set (development and tests only).
STANDIN_KEY_ID = "rzp_test_standin"
STANDIN_KEY_SECRET = "standin-key-secret"  # noqa: S105
STANDIN_WEBHOOK_SECRET = "standin-webhook-secret"  # noqa: S105


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
    # WiredTiger's cache of the embedded mongod; unset: sized from the machine's memory.
    embedded_mongo_cache_gb: Annotated[float | None, Field(ge=0.25, le=1024)] = None

    # Failing fast when MongoDB is down or stalled (README, "Health, readiness and outages"); past
    # these the API answers SERVICE_UNAVAILABLE. How long to look for a usable server, to open a
    # connection (and how long the client's own health checks of a server may take), and to wait
    # for MongoDB's reply to a command.
    mongodb_server_selection_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 3.0
    mongodb_connect_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 5.0
    mongodb_operation_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 5.0

    # HTTP server.
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated IPs or "*").
    # Client IPs feed the rate limits and session records, so only name your own proxies.
    forwarded_allow_ips: str = "127.0.0.1"
    # Largest multipart upload an admin may send (images, product imports), with its envelope;
    # every other request body is held to MAX_JSON_REQUEST_BYTES (see the HTTP hardening block).
    max_request_bytes: Annotated[int, Field(ge=64 * 1024, le=100 * 1024 * 1024)] = 21 * 1024 * 1024
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"

    # Observability (README, "Observability"). Logs as text or JSON lines (unset = JSON in
    # production, text elsewhere); Prometheus metrics at /metrics, which answers with
    # METRICS_TOKEN as a bearer token, or without one only outside production and to this
    # machine; OpenTelemetry traces of GraphQL operations (the `otel` extra) when OTEL_ENABLED,
    # exported as the standard OTEL_EXPORTER_OTLP_* variables say.
    log_format: LogFormat | None = None
    metrics_enabled: bool = True
    metrics_token: SecretStr | None = None
    # How often each worker writes its requests' metrics (with several workers, a scrape sees
    # another worker's requests up to this late); 0 = with each request, at a few microseconds.
    metrics_flush_seconds: Annotated[float, Field(ge=0, le=60)] = 1.0
    otel_enabled: bool = False

    # Catalog.
    shop_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "INR"
    seed_products: Annotated[int, Field(ge=0, le=1_000_000)] = 1000
    seed_random_seed: int = 2024
    # Product imports (`importProducts`): the largest file, and the most rows in one file.
    # MAX_REQUEST_BYTES must leave room for the file and its multipart envelope.
    import_max_bytes: Annotated[int, Field(ge=1024, le=99 * 1024 * 1024)] = 20 * 1024 * 1024
    import_max_rows: Annotated[int, Field(ge=1, le=1_000_000)] = 20_000

    # Product search (README, "Search"). With tantivy, the worker keeps the index under
    # SEARCH_INDEX_DIR (unset = DATA_DIR/search) from MongoDB's change stream, committing what
    # changed at most every SEARCH_COMMIT_INTERVAL seconds: how long a change may take to show.
    search_engine: SearchEngineName = SearchEngineName.TANTIVY
    search_index_dir: Path | None = None
    search_commit_interval: Annotated[float, Field(ge=0.05, le=60)] = 1.0

    # Cart and shipping. Money settings are decimals in the shop currency; prices include tax.
    cart_max_line_quantity: Annotated[int, Field(ge=1, le=1000)] = 10
    cart_max_lines: Annotated[int, Field(ge=1, le=100)] = 50
    guest_cart_days: Annotated[int, Field(ge=1, le=365)] = 30
    shipping_fee: Annotated[Decimal, Field(ge=0, le=1_000_000)] = Decimal("49.00")
    free_shipping_from: Annotated[Decimal, Field(ge=0, le=100_000_000)] = Decimal("499.00")

    # Shipping addresses a user may keep; adding one more is refused (TOO_MANY_ADDRESSES).
    max_addresses: Annotated[int, Field(ge=1, le=100)] = 10

    # Online payments (README, "Payments"). PAYMENT_PROVIDER defaults to razorpay when the keys
    # are set, else to the stand-in (outside production; in production ONLINE is then off).
    payment_provider: PaymentProviderName | None = None
    razorpay_key_id: str | None = None
    razorpay_key_secret: SecretStr | None = None
    razorpay_webhook_secret: SecretStr | None = None
    razorpay_api_url: str = "https://api.razorpay.com"
    razorpay_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    # The shop's name on Razorpay Checkout.
    shop_name: Annotated[str, Field(min_length=1, max_length=100)] = "Commerce"
    # How long an unpaid online order holds its stock.
    payment_reservation_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 15
    # Orders still unpaid this long after checkout are asked about at the provider (a missed
    # webhook, a closed tab), then less and less often for a day after their reservation ends.
    payment_reconcile_after_seconds: Annotated[int, Field(ge=10, le=86_400)] = 180
    # How often each worker looks for ended reservations, orders to reconcile and refunds due.
    payment_sweep_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0

    # Query result cache.
    cache_enabled: bool = True
    cache_ttl_seconds: Annotated[int, Field(ge=1, le=86_400)] = 300
    # Larger results are served but not cached: a few huge entries would evict many small ones.
    cache_max_entry_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 512 * 1024
    # After Redis fails, skip it for this long instead of paying a timeout on every request.
    cache_retry_after_seconds: Annotated[float, Field(ge=0, le=600)] = 5.0
    # Query cache faults and memory (README, "Query cache"). Each process confirms in MongoDB at
    # most this often that no invalidation waits to be applied to Redis, and serves cached entries
    # only that long after: the longest another process may serve an entry a failed invalidation
    # could not retire. 0 = confirm on every cached read.
    cache_pending_check_seconds: Annotated[float, Field(ge=0, le=60)] = 1.0
    # Entries one client (an IP, an IPv6 /64) may create per minute; past it, results are served
    # but not stored.
    cache_max_entries_per_client_minute: Annotated[int, Field(ge=1, le=1_000_000)] = 200
    # Answer anonymous GET hits before routing and GraphQL, with the stored bytes (README, "Query
    # cache"); off = every request goes through Strawberry (to compare, or to rule it out).
    cache_fast_hits: bool = True
    # Answer anonymous GET catalog queries (`product`, `products`) from a plan compiled once per
    # document instead of Strawberry and graphql-core's per-field execution (README, "Cache
    # misses"); off = every request goes through Strawberry.
    compiled_reads: bool = True
    # The Redis of the query cache; unset = REDIS_URL when that is set, else a second embedded
    # redis-server, capped at EMBEDDED_CACHE_REDIS_MAX_MEMORY_MB and evicting least recently used
    # entries (the main one, with the rate limits and the job queue, never evicts).
    cache_redis_url: str | None = None
    embedded_cache_redis_port: Annotated[int, Field(ge=1024, le=65535)] = 6391
    embedded_cache_redis_max_memory_mb: Annotated[int, Field(ge=8, le=1_048_576)] = 128
    # REDIS_URL (and CACHE_REDIS_URL) name a node of a Redis Cluster each (README, "Scale-out").
    # The job queue cannot run on a cluster: it then needs JOBS_REDIS_URL, a plain Redis.
    redis_cluster: bool = False
    # The job queue's Redis; unset = REDIS_URL.
    jobs_redis_url: str | None = None
    redis_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 1.0
    redis_max_connections: Annotated[int, Field(ge=1, le=10_000)] = 100

    # Accounts and sessions.
    jwt_algorithm: JwtAlgorithm = JwtAlgorithm.HS256
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)  # HS256
    jwt_private_key: SecretStr | None = None  # PEM, RS256 / ES256
    jwt_public_key: str | None = None  # PEM, RS256 / ES256
    jwt_issuer: str = "commerce-api"
    jwt_audience: str = "commerce-api"
    access_token_minutes: Annotated[int, Field(ge=1, le=60)] = 15
    refresh_token_days: Annotated[int, Field(ge=1, le=365)] = 30
    bcrypt_rounds: Annotated[int, Field(ge=4, le=16)] = 12
    refresh_cookie_name: str = "refresh_token"
    refresh_cookie_samesite: Annotated[str, Field(pattern=r"^(lax|strict|none)$")] = "lax"
    email_verification_hours: Annotated[int, Field(ge=1, le=168)] = 24
    password_reset_minutes: Annotated[int, Field(ge=5, le=60)] = 15
    password_reset_max_attempts: Annotated[int, Field(ge=1, le=10)] = 5
    admin_signup_key: SecretStr | None = None
    frontend_url: str = "http://localhost:3000"
    # This API's address as clients reach it; unset = derived from HOST and PORT (`_public_url`).
    public_url: str = ""
    # Rate limits, in the `limits` library's notation ("5/minute"), per action and scope.
    rate_limits: dict[str, str] = Field(
        default_factory=lambda: {
            "login:account_ip": "5/minute",
            "login:account": "50/hour",
            "login:ip": "30/minute",
            # A device that signed in to the account before counts here instead of in the two
            # account scopes above, so a guesser who uses them up does not lock its owner out.
            "login:device": "10/hour",
            "register:ip": "10/hour",
            "request_password_reset:account_ip": "3/15 minutes",
            "request_password_reset:account": "5/hour",
            "request_password_reset:ip": "20/hour",
            "verify_password_reset_otp:account_ip": "10/15 minutes",
            "verify_password_reset_otp:account": "20/hour",
            "verify_password_reset_otp:ip": "30/hour",
            "resend_verification_email:account_ip": "3/15 minutes",
            "resend_verification_email:account": "5/hour",
            "resend_verification_email:ip": "20/hour",
            "change_password:account": "10/hour",
            # Registrations that try the ADMIN_SIGNUP_KEY; `account` is every try, from anywhere.
            "admin_signup:ip": "5/hour",
            "admin_signup:account": "20/hour",
            "change_email:account": "5/hour",
            "google_login:ip": "30/minute",
            "refresh_token:ip": "120/minute",
            # Cash-on-delivery orders take stock at once: one account cannot hoard it.
            "place_order:account": "30/hour",
            # Each confirmPayment with a valid signature asks Razorpay about the payment.
            "confirm_payment:account": "60/hour",
            # Reviews are public text: one account cannot flood them.
            "write_review:account": "30/hour",
            # Each guest's first add creates a cart document; bots must not create them unbounded.
            "create_guest_cart:ip": "60/hour",
        }
    )
    rate_limits_enabled: bool = True
    # Sign-in limits that hold under load (README, "Sign-in limits"). Device tokens exempt a
    # device that signed in before from the account-wide login limits; they last this long.
    device_token_days: Annotated[int, Field(ge=1, le=730)] = 365
    # A refresh token used again this soon, from the same client, gets the tokens its first use
    # got (two tabs refreshing at once); later, or from elsewhere, reuse ends the session.
    refresh_token_reuse_grace_seconds: Annotated[float, Field(ge=0, le=60)] = 5.0

    # Email: SendGrid with an API key, else the stand-in that stores them in `sent_emails`.
    sendgrid_api_key: SecretStr | None = None
    sendgrid_host: str = "https://api.sendgrid.com"
    email_from: str = "shop@example.com"
    email_from_name: str = "Commerce"

    # Background jobs (saq on Redis) and the outbox they send emails from (README, "Jobs").
    worker_concurrency: Annotated[int, Field(ge=1, le=200)] = 10
    # Deliveries tried before an email is FAILED; the n-th retry waits a random time up to
    # EMAIL_RETRY_DELAY_SECONDS * 2**(n-1), at most EMAIL_RETRY_MAX_DELAY_SECONDS.
    email_max_attempts: Annotated[int, Field(ge=1, le=50)] = 10
    email_retry_delay_seconds: Annotated[float, Field(ge=0, le=3600)] = 10.0
    email_retry_max_delay_seconds: Annotated[float, Field(ge=0, le=86_400)] = 1800.0
    # How often each worker's relay hands over what the after-commit nudge did not.
    outbox_relay_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    # How long a job's claim on an email holds: longer than one delivery can take (SendGrid's
    # requests time out after 10 s), so an email is not sent twice while its job is under way.
    outbox_lease_seconds: Annotated[int, Field(ge=30, le=3600)] = 60
    # A queued email not sent by then is handed to the queue again (Redis may have lost it).
    outbox_requeue_after_seconds: Annotated[int, Field(ge=10, le=86_400)] = 300
    outbox_retention_days: Annotated[int, Field(ge=1, le=365)] = 7

    # Images: Cloudinary with a CLOUDINARY_URL, else files under data_dir/media served at /media.
    cloudinary_url: SecretStr | None = None
    cloudinary_upload_prefix: str | None = None
    avatar_max_bytes: Annotated[int, Field(ge=1024, le=20 * 1024 * 1024)] = 2 * 1024 * 1024
    # Largest product or category image upload; MAX_REQUEST_BYTES must leave room for it.
    product_image_max_bytes: Annotated[int, Field(ge=1024, le=50 * 1024 * 1024)] = 5 * 1024 * 1024
    # Images one product may have; adding one more is refused (TOO_MANY_IMAGES).
    max_product_images: Annotated[int, Field(ge=1, le=100)] = 12

    # Google sign-in, when a client id is configured.
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"

    # HTTP hardening: small bodies, security headers and production defaults (README, "Security
    # headers and production defaults"). The three switches below default to on outside
    # production and off in it; set them to decide either way.
    max_json_request_bytes: Annotated[int, Field(ge=16 * 1024, le=100 * 1024 * 1024)] = 1024 * 1024
    graphiql: bool | None = None
    introspection: bool | None = None
    field_suggestions: bool | None = None
    # Strict-Transport-Security in production (0 = not sent); never sent outside production.
    hsts_max_age_seconds: Annotated[int, Field(ge=0, le=2 * 365 * 86_400)] = 365 * 86_400

    # Browsers on other origins and CDNs (README, "Browsers on another origin (CORS)" and "GET
    # and CDNs"). Origins allowed to call the API with credentials (comma-separated or a JSON
    # list; unset = FRONTEND_URL's origin), and how long a browser may reuse a preflight.
    cors_allow_origins: Annotated[list[str] | None, NoDecode] = None
    cors_max_age_seconds: Annotated[int, Field(ge=0, le=86_400)] = 600
    # Cache-Control of anonymous catalog queries over GET: how long a CDN (or browser) may serve
    # the answer, and how long after that it may serve it stale while it asks again.
    cdn_max_age_seconds: Annotated[int, Field(ge=0, le=86_400)] = 60
    cdn_stale_while_revalidate_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _origins_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None  # `CORS_ALLOW_ORIGINS=` means unset: FRONTEND_URL's origin
            if text.startswith("["):
                return orjson.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _bare_origins(cls, value: list[str] | None) -> list[str] | None:
        # Each origin must be written as a browser sends it, since the allow-list is compared
        # letter for letter: "https://Shop.example:443/" would never match anything.
        for origin in value or ():
            if origin.strip() == "*":
                raise ValueError(
                    "CORS_ALLOW_ORIGINS: '*' is refused: with credentials it would let any site "
                    "act as the signed-in user"
                )
            try:
                canonical = browser_origin(origin)
            except ValueError as error:
                raise ValueError(f"CORS_ALLOW_ORIGINS: {origin!r} {error}") from None
            if origin != canonical:
                raise ValueError(
                    f"CORS_ALLOW_ORIGINS: {origin!r} is not an origin as a browser sends it "
                    f"(scheme://host[:port], lower case, no default port, no path): write "
                    f"{canonical!r}"
                )
        return value

    @field_validator("frontend_url")
    @classmethod
    def _frontend_url_has_an_origin(cls, value: str) -> str:
        try:
            browser_origin(value)
        except ValueError as error:
            raise ValueError(f"FRONTEND_URL {value!r} {error}") from None
        return value

    @property
    def cors_origins(self) -> list[str]:
        """The origins allowed to call the API from a browser: CORS_ALLOW_ORIGINS, else the
        origin of FRONTEND_URL."""
        if self.cors_allow_origins is not None:
            return self.cors_allow_origins
        return [browser_origin(self.frontend_url)]

    # GraphQL limits.
    max_query_depth: Annotated[int, Field(ge=2, le=50)] = 12
    max_aliases: Annotated[int, Field(ge=1, le=1000)] = 30
    max_tokens: Annotated[int, Field(ge=100, le=100_000)] = 5000
    # Fields one document may select (schema/validation.py): validation is quadratic in them.
    max_query_fields: Annotated[int, Field(ge=10, le=10_000)] = 250

    # Query cost (README, "Query cost"): the most one operation may cost, and the bucket of cost
    # each client (a signed-in user, else an IP address or IPv6 /64) draws its operations from.
    max_query_cost: Annotated[int, Field(ge=10, le=1_000_000)] = 1000
    query_cost_bucket_size: Annotated[int, Field(ge=10, le=100_000_000)] = 2000
    query_cost_restore_rate: Annotated[float, Field(gt=0, le=1_000_000)] = 100.0
    query_cost_throttle_enabled: bool = True

    # Automatic persisted queries (README, "Persisted queries (APQ)"): documents stored by hash in
    # the cache Redis (a TTL refreshed on use) and in a per-process LRU of this many documents.
    # Larger documents (comments and white space count), and those of a client past its share of
    # registrations this minute, run but are not stored. Real documents are a few KB.
    persisted_query_ttl_seconds: Annotated[int, Field(ge=60, le=30 * 86_400)] = 7 * 86_400
    persisted_query_max_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 8 * 1024
    persisted_query_max_registrations_per_client_minute: Annotated[
        int, Field(ge=1, le=1_000_000)
    ] = 20
    persisted_query_lru_size: Annotated[int, Field(ge=0, le=100_000)] = 1000
    # Trusted documents (README, "Trusted documents"): an Apollo persisted-query manifest whose
    # operations clients run by id, checked at startup; with TRUSTED_DOCUMENTS_ONLY, nothing else
    # runs (no document text, no APQ registration, no GraphiQL).
    trusted_documents_manifest: Path | None = None
    trusted_documents_only: bool = False

    @property
    def query_cache_redis_url(self) -> str | None:
        """Where the query cache lives: CACHE_REDIS_URL, else the main Redis."""
        return self.cache_redis_url or self.redis_url

    @property
    def job_queue_redis_url(self) -> str | None:
        """Where the job queue lives: JOBS_REDIS_URL, else the main Redis."""
        return self.jobs_redis_url or self.redis_url

    @property
    def uses_embedded_servers(self) -> bool:
        return self.mongodb_uri is None or self.redis_url is None

    @field_validator(
        "admin_signup_key",
        "sendgrid_api_key",
        "cloudinary_url",
        "google_client_secret",
        "razorpay_key_id",
        "razorpay_key_secret",
        "razorpay_webhook_secret",
        "cache_redis_url",
        "trusted_documents_manifest",
        "google_client_id",
        "graphiql",
        "introspection",
        "field_suggestions",
        "metrics_token",
        "log_format",
        "search_index_dir",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `ADMIN_SIGNUP_KEY=` in an env file means "none", not "the empty key"; docker-compose
        # passes an optional setting the user left out as blank.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_signup_key", "metrics_token")
    @classmethod
    def _long_enough_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError(f"{str(info.field_name).upper()} must be at least 24 characters")
        return value

    @property
    def logs_as_json(self) -> bool:
        """LOG_FORMAT, else JSON lines in production and text elsewhere."""
        if self.log_format is None:
            return self.environment is Environment.PRODUCTION
        return self.log_format is LogFormat.JSON

    @property
    def payments(self) -> PaymentProviderName | None:
        """The payment provider in use; None: online payments are off."""
        if self.payment_provider is not None:
            return self.payment_provider
        if self.razorpay_key_id and self.razorpay_key_secret:
            return PaymentProviderName.RAZORPAY
        if self.environment is Environment.PRODUCTION:
            return None
        return PaymentProviderName.STANDIN

    def payment_secrets(self) -> tuple[str, str, str]:
        """The key id, key secret and webhook secret the provider uses: Razorpay's, or the
        stand-in's own where none are set."""
        return (
            self.razorpay_key_id or STANDIN_KEY_ID,
            self.razorpay_key_secret.get_secret_value()
            if self.razorpay_key_secret
            else STANDIN_KEY_SECRET,
            self.razorpay_webhook_secret.get_secret_value()
            if self.razorpay_webhook_secret
            else STANDIN_WEBHOOK_SECRET,
        )

    @model_validator(mode="after")
    def _check_redis_cluster(self) -> Settings:
        if not self.redis_cluster:
            return self
        if self.redis_url is None:
            raise ValueError(
                "REDIS_CLUSTER needs REDIS_URL (a node of the cluster): the embedded Redis is "
                "not a cluster"
            )
        if self.jobs_redis_url is None or self.jobs_redis_url == self.redis_url:
            raise ValueError(
                "REDIS_CLUSTER needs JOBS_REDIS_URL, a plain Redis (not a cluster node) for the "
                "job queue: saq drives one Redis server, not a cluster"
            )
        return self

    @model_validator(mode="after")
    def _check_payment_provider(self) -> Settings:
        if self.payments is PaymentProviderName.RAZORPAY:
            missing = [
                name
                for name, value in (
                    ("RAZORPAY_KEY_ID", self.razorpay_key_id),
                    ("RAZORPAY_KEY_SECRET", self.razorpay_key_secret),
                    ("RAZORPAY_WEBHOOK_SECRET", self.razorpay_webhook_secret),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"Razorpay payments need {', '.join(missing)}")
        if (
            self.payment_provider is PaymentProviderName.STANDIN
            and self.environment is Environment.PRODUCTION
        ):
            raise ValueError("PAYMENT_PROVIDER=standin takes no real money; not in production")
        return self

    def _on_outside_production(self, choice: bool | None) -> bool:
        return self.environment is not Environment.PRODUCTION if choice is None else choice

    @property
    def serves_graphiql(self) -> bool:
        """GraphiQL for browsers at /graphql: GRAPHIQL, else on outside production; never with
        TRUSTED_DOCUMENTS_ONLY (its documents are not the manifest's)."""
        return not self.trusted_documents_only and self._on_outside_production(self.graphiql)

    @property
    def allows_introspection(self) -> bool:
        """`__schema` and `__type` queries: INTROSPECTION, else on outside production. With
        TRUSTED_DOCUMENTS_ONLY it defaults to on: the manifest decides, as for any document."""
        if self.introspection is None and self.trusted_documents_only:
            return True
        return self._on_outside_production(self.introspection)

    @model_validator(mode="after")
    def _check_trusted_documents(self) -> Settings:
        if self.trusted_documents_only and self.trusted_documents_manifest is None:
            raise ValueError("TRUSTED_DOCUMENTS_ONLY needs TRUSTED_DOCUMENTS_MANIFEST")
        if self.trusted_documents_only and self.graphiql:
            raise ValueError(
                "GRAPHIQL cannot be on with TRUSTED_DOCUMENTS_ONLY: GraphiQL sends documents "
                "that are not in the manifest"
            )
        return self

    @property
    def suggests_fields(self) -> bool:
        """Suggestions ("Did you mean ...?") in errors: FIELD_SUGGESTIONS, else on outside production."""
        return self._on_outside_production(self.field_suggestions)

    @property
    def hsts_seconds(self) -> int:
        """The Strict-Transport-Security max-age to send; 0 = none (always, outside production)."""
        return self.hsts_max_age_seconds if self.environment is Environment.PRODUCTION else 0

    @model_validator(mode="after")
    def _json_limit_within_upload_limit(self) -> Settings:
        if self.max_json_request_bytes > self.max_request_bytes:
            raise ValueError("MAX_JSON_REQUEST_BYTES must not exceed MAX_REQUEST_BYTES")
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.environment is not Environment.DEVELOPMENT

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def search_index_path(self) -> Path:
        """Where the search index lives: SEARCH_INDEX_DIR, else DATA_DIR/search."""
        return self.search_index_dir or self.data_dir / "search"

    @model_validator(mode="after")
    def _search_index_not_served(self) -> Settings:
        # Local images are served from DATA_DIR/media to anyone: an index there could be fetched.
        index, media = self.search_index_path.resolve(), self.media_dir.resolve()
        if index == media or media in index.parents:
            raise ValueError(f"SEARCH_INDEX_DIR must not be inside {media}: it is served at /media")
        return self

    @model_validator(mode="after")
    def _public_url(self) -> Settings:
        # Without PUBLIC_URL, this server's own address: local image URLs and the Google
        # callback then follow PORT. An explicit value is kept as given (a proxy, a domain).
        if not self.public_url.strip():
            host = "localhost" if self.host in _LOCAL_HOSTS else self.host
            if ":" in host:
                host = f"[{host}]"  # an IPv6 literal
            self.public_url = f"http://{host}:{self.port}"
        return self

    @model_validator(mode="after")
    def _check_query_cost_bucket(self) -> Settings:
        if self.query_cost_bucket_size < self.max_query_cost:
            raise ValueError(
                "QUERY_COST_BUCKET_SIZE must be at least MAX_QUERY_COST, "
                "or a query under the limit could never run"
            )
        return self

    @model_validator(mode="after")
    def _check_jwt_keys(self) -> Settings:
        if self.jwt_algorithm is not JwtAlgorithm.HS256 and not (
            self.jwt_private_key and self.jwt_public_key
        ):
            raise ValueError(f"{self.jwt_algorithm} needs JWT_PRIVATE_KEY and JWT_PUBLIC_KEY")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment is not Environment.PRODUCTION:
            return self
        problems = []
        missing = [
            name
            for name, value in (("MONGODB_URI", self.mongodb_uri), ("REDIS_URL", self.redis_url))
            if not value
        ]
        if missing:
            problems.append(
                f"{' and '.join(missing)} must be set in production; "
                "the embedded servers are for development only"
            )
        # Whatever signs access tokens, JWT_SECRET also keys reset-code hashes and signs the
        # Google sign-in state and device tokens, so production always needs one of its own.
        secret = self.jwt_secret.get_secret_value()
        if secret == DEVELOPMENT_JWT_SECRET:
            problems.append("JWT_SECRET must be set to a secret of your own in production")
        elif len(secret) < 32:
            problems.append("JWT_SECRET must be at least 32 characters")
        # FRONTEND_URL is where email links and the Google sign-in send people, and by default
        # the one origin whose pages may call the API with the user's cookies: the development
        # default (http://localhost:3000) has no place in production, nor has plain http.
        if urlsplit(self.frontend_url).scheme.lower() != "https":
            problems.append(
                "FRONTEND_URL must be set to your storefront's https:// address in production "
                f"(not {self.frontend_url!r})"
            )
        insecure = [
            origin for origin in self.cors_allow_origins or () if not origin.startswith("https://")
        ]
        if insecure:
            problems.append(
                f"CORS_ALLOW_ORIGINS must list https:// origins only in production: "
                f"{', '.join(insecure)}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

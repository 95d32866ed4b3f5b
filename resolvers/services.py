"""The process-wide services a request may use, built once at startup."""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.email import EmailSender
from integrations.google import GoogleSignIn
from integrations.images import ImageStore
from integrations.search.engine import SearchEngine
from loaders.category_cache import CategoryCache
from resolvers.accounts.access_tokens import AccessTokens
from resolvers.cost_bucket import QueryCostBucket
from resolvers.outbox import EmailOutbox
from resolvers.payments.service import PaymentService
from resolvers.persisted_queries import PersistedQueries
from resolvers.query_cache import QueryCache
from resolvers.rate_limits import RateLimiter


@dataclass(frozen=True)
class Services:
    query_cache: QueryCache
    access_tokens: AccessTokens
    rate_limiter: RateLimiter
    email: EmailSender  # used by the workers' email jobs; requests go through `outbox`
    outbox: EmailOutbox
    payments: PaymentService
    images: ImageStore
    google: GoogleSignIn | None  # None when Google sign-in is not configured
    cost_bucket: QueryCostBucket
    persisted_queries: PersistedQueries
    # Reads the search index (SEARCH_ENGINE=tantivy); None: MongoDB's $text searches.
    search: SearchEngine | None
    # The categories this process has read, kept while their change stream is followed.
    categories: CategoryCache = field(default_factory=CategoryCache)

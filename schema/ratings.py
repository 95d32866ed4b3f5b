"""How a product's ratings are shown and its reviews ordered: the pieces `Product` itself needs."""

from __future__ import annotations

import enum

import strawberry

from resolvers.pagination import Ordering
from resolvers.reviews import ReviewSort


@strawberry.type(description="How many ratings gave one number of stars.")
class RatingBucket:
    stars: int = strawberry.field(description="Stars, 1 to 5.")
    count: int = strawberry.field(description="How many ratings gave that many.")


@strawberry.enum(description="The order of a product's reviews.")
class ReviewSortOrder(enum.Enum):
    NEWEST = strawberry.enum_value("NEWEST", description="Newest first.")
    HIGHEST = strawberry.enum_value("HIGHEST", description="Most stars first, newest among equals.")
    LOWEST = strawberry.enum_value("LOWEST", description="Fewest stars first, newest among equals.")

    @property
    def ordering(self) -> Ordering:
        ordering: Ordering = getattr(ReviewSort, self.name)
        return ordering

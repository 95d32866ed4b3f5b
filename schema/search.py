"""What search adds to the catalog's types: highlighted fragments on a product list's edges,
facet counts for filter UIs, and suggestions for autocomplete (README, "Search")."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from bson import ObjectId

from resolvers import product_search
from resolvers.context import Context
from resolvers.product_search import (
    Facets,
    Highlight,
    PriceBand,
    Suggestion,
    SuggestionKind,
)
from schema.common import Money
from schema.info import Info

if TYPE_CHECKING:
    from schema.catalog import Category, Product


@strawberry.enum(description="A product field a search matched in.")
class SearchHighlightField(enum.Enum):
    NAME = strawberry.enum_value("name", description="The product's name.")
    DESCRIPTION = strawberry.enum_value("description", description="Its description.")


@strawberry.type(description="A range [start, end) of a fragment, in Unicode code points.")
class TextRange:
    start: int = strawberry.field(description="The first character's offset.")
    end: int = strawberry.field(description="The offset just past the last character.")


@strawberry.type(
    description=(
        "A fragment of a product's field and the ranges in it that matched the search: plain "
        "text, for the client to mark up (never HTML)."
    )
)
class SearchHighlight:
    field: SearchHighlightField = strawberry.field(description="The field the fragment is of.")
    fragment: str = strawberry.field(description="The part of the field around the matches.")
    ranges: list[TextRange] = strawberry.field(description="Where the matches are in it.")

    @classmethod
    def of(cls, field_name: str, highlight: Highlight) -> SearchHighlight:
        return cls(
            field=SearchHighlightField(field_name),
            fragment=highlight.fragment,
            ranges=[TextRange(start=start, end=end) for start, end in highlight.ranges],
        )


@strawberry.input(description="A price band to count products in: [min, max), in shop currency.")
class PriceBandInput:
    min: Decimal = strawberry.field(description="Lowest final price, inclusive.")
    max: Decimal | None = strawberry.field(
        default=None, description="Highest final price, exclusive; omitted: no upper bound."
    )


@strawberry.type(description="A brand and how many products of the list it would leave.")
class BrandFacet:
    brand: str = strawberry.field(description="The brand, as a `brand` filter takes it.")
    count: int = strawberry.field(description="How many products.")


@strawberry.type(description="A top-level category and how many products of the list it holds.")
class CategoryFacet:
    category: Annotated[Category, strawberry.lazy("schema.catalog")] = strawberry.field(
        description="The category, as a `categoryId` filter takes its id."
    )
    count: int = strawberry.field(description="How many products.")


@strawberry.type(description="A price band and how many products of the list are in it.")
class PriceBandFacet:
    min: Money = strawberry.field(description="Lowest final price, inclusive.")
    max: Money | None = strawberry.field(description="Highest, exclusive; null: no upper bound.")
    count: int = strawberry.field(description="How many products.")


@strawberry.type(description="How many products of the list are rated at least this.")
class RatingFacet:
    min_rating: int = strawberry.field(description="Stars, 1 to 4, as a `minRating` filter.")
    count: int = strawberry.field(description="How many products.")


@strawberry.type(
    description=(
        "How many products each filter value would give, with the search and every other filter "
        "applied: a facet leaves its own filter out of its counts, so a filter UI can offer the "
        "other values too."
    )
)
class ProductFacets:
    brands: list[BrandFacet] = strawberry.field(description="The 20 brands with most products.")
    price_bands: list[PriceBandFacet] = strawberry.field(description="In the bands' order.")
    ratings: list[RatingFacet] = strawberry.field(description="From 4 stars down to 1.")
    _facets: strawberry.Private[Facets]

    @strawberry.field(description="The top-level categories with products, most first.")
    async def categories(self, info: Info) -> list[CategoryFacet]:
        from schema.catalog import Category  # the catalog's types import this module

        counted = await product_search.facet_categories(info.context, self._facets)
        return [
            CategoryFacet(category=Category.from_document(category), count=count)
            for category, count in counted
        ]

    @classmethod
    def of(cls, facets: Facets, bands: tuple[PriceBand, ...], currency: str) -> ProductFacets:
        return cls(
            brands=[BrandFacet(brand=c.value, count=c.count) for c in facets.brands],
            price_bands=[
                PriceBandFacet(
                    min=Money.of(band.min, currency),
                    max=None if band.max is None else Money.of(band.max, currency),
                    count=counted.count,
                )
                for band, counted in zip(bands, facets.price_bands, strict=True)
            ],
            ratings=[RatingFacet(min_rating=int(c.value), count=c.count) for c in facets.ratings],
            _facets=facets,
        )


PriceBandsArg = Annotated[
    list[PriceBandInput] | None,
    strawberry.argument(
        description=(
            "The price bands to count, 1 to 10; omitted: under 500, 500-1000, 1000-2500, "
            "2500-5000 and 5000 and over, in the shop currency."
        )
    ),
]


def price_bands_of(ctx: Context, given: list[PriceBandInput] | None) -> tuple[PriceBand, ...]:
    bands = None
    if given is not None:
        bands = [product_search.PriceBandArg(band.min, band.max) for band in given]
    return product_search.price_bands(ctx, bands)


@strawberry.enum(description="What a suggestion is.")
class SearchSuggestionKind(enum.Enum):
    PRODUCT = strawberry.enum_value(SuggestionKind.PRODUCT.value, description="A product.")
    BRAND = strawberry.enum_value(SuggestionKind.BRAND.value, description="A brand.")
    CATEGORY = strawberry.enum_value(SuggestionKind.CATEGORY.value, description="A category.")


@strawberry.type(description="Something to offer a shopper who is typing a search.")
class SearchSuggestion:
    kind: SearchSuggestionKind = strawberry.field(description="A product, brand or category.")
    text: str = strawberry.field(description="What to show: a name, a brand.")
    _id: strawberry.Private[str | None]

    @strawberry.field(description="The product, for a PRODUCT suggestion.")
    async def product(
        self, info: Info
    ) -> Annotated[Product, strawberry.lazy("schema.catalog")] | None:
        from schema.catalog import Product

        if self.kind is not SearchSuggestionKind.PRODUCT or self._id is None:
            return None
        found = await info.context.loaders.product_by_id.load(ObjectId(self._id))
        return Product.from_document(found) if found is not None else None

    @strawberry.field(description="The category, for a CATEGORY suggestion.")
    async def category(
        self, info: Info
    ) -> Annotated[Category, strawberry.lazy("schema.catalog")] | None:
        from schema.catalog import Category

        if self.kind is not SearchSuggestionKind.CATEGORY or self._id is None:
            return None
        found = await info.context.loaders.category_by_id.load(ObjectId(self._id))
        return Category.from_document(found) if found is not None else None

    @classmethod
    def of(cls, suggestion: Suggestion) -> SearchSuggestion:
        return cls(
            kind=SearchSuggestionKind(suggestion.kind.value),
            text=suggestion.text,
            _id=suggestion.id,
        )


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description=(
            "Autocomplete for a search box: categories and brands with a word starting with "
            "what the shopper typed, and product names with its words (the last may be "
            "unfinished, from 2 letters; typos forgiven from 4); empty where the deployment "
            "keeps no search index (SEARCH_ENGINE=mongo)."
        )
    )
    async def search_suggestions(
        self,
        info: Info,
        prefix: Annotated[str, strawberry.argument(description="What was typed, up to 100.")],
        first: Annotated[int, strawberry.argument(description="How many, 1 to 20.")] = 8,
    ) -> list[SearchSuggestion]:
        found = await product_search.suggestions(info.context, prefix, first)
        return [SearchSuggestion.of(suggestion) for suggestion in found]

"""Loaders for reviews. A product's page of reviews goes through the `PipelineLoader` of reviews."""

from __future__ import annotations

from documents.reviews import Review
from loaders.documents import DocumentByFieldLoader


class ReviewByIdLoader(DocumentByFieldLoader):
    document = Review
    key_field = "id"

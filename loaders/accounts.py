"""Loaders for users and their sessions."""

from __future__ import annotations

from documents.accounts import AuthSession, User
from loaders.documents import DocumentByFieldLoader


class UserByIdLoader(DocumentByFieldLoader):
    document = User
    key_field = "id"


class AuthSessionByIdLoader(DocumentByFieldLoader):
    document = AuthSession
    key_field = "id"

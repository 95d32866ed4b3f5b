"""Accounts in the API: users, sessions, sign-in and recovery mutations, administration."""

from schema.accounts.operations import AccountMutation, AccountQuery
from schema.accounts.payloads import set_sign_in_cookies
from schema.accounts.types import Session, User

__all__ = ["AccountMutation", "AccountQuery", "Session", "User", "set_sign_in_cookies"]

"""Beanie documents and the domain rules that belong to the data (no GraphQL here)."""

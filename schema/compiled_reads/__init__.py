"""Compiled reads: anonymous GET catalog queries answered from a plan compiled once per document
(`plan.py`), skipping Strawberry's request path and graphql-core's per-field execution
(`reads.py`). README, "Cache misses"."""

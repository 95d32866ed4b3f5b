"""Compiled reads: anonymous GET catalog queries answered from a plan compiled once per document
(`plan.py`, run by `running.py`), skipping Strawberry's request path and graphql-core's
per-field execution (`reads.py`). README, "Cache misses"."""

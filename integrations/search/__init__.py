"""Product search engines (issue: search at a million products); see `engine.py`."""

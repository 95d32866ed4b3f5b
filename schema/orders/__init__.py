"""Orders in the API: types, checkout and order operations."""

"""Catalog administration in the API: categories, products and stock (admins only)."""

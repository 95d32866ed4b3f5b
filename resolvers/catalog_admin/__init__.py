"""Catalog administration: categories, products, stock, images, import and export."""

"""Checkout and orders: placing, reading, and moving orders through their states."""

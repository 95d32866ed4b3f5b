"""Strawberry types, inputs, enums and the root schema with its extensions."""

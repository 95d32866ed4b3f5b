"""External services, each behind an interface with a real implementation and a local stand-in."""

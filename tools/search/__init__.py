"""Vector search over the catalogue."""

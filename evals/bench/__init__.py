"""Benchmarks: tools, one turn, the API (each prints one JSON object as its last stdout line)."""

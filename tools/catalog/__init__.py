"""Product catalogue: build, database and tools."""

"""crsagent.graphs package."""

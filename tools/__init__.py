"""crsagent.tools package."""

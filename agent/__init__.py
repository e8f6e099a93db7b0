"""crsagent.agent package."""

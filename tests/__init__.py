"""crsagent.tests package."""

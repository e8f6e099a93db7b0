"""crsagent.evals package."""

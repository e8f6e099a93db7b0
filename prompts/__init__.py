"""crsagent.prompts package."""

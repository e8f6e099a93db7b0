"""Collaborative filtering (implicit ALS with session fold-in) and its build stage."""

from crsagent.tools.cf.model import CFModel, CFParams

__all__ = ["CFModel", "CFParams"]

"""Recommendation priors learned from recorded dialogues (ReDial): which items recommenders suggest, and after what."""

from crsagent.tools.prior.redial import MENTION, RedialPrior, learn_prior, load_prior, read_mentions

__all__ = ["MENTION", "RedialPrior", "learn_prior", "load_prior", "read_mentions"]

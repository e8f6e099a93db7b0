"""The learned ranker: a LightGBM lambdarank model over the ranking signals (``docs/ranking.md``)."""

from crsagent.tools.ranker.model import LearnedRanker, RankerParams

__all__ = ["LearnedRanker", "RankerParams"]

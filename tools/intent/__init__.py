"""LatentCRS latent-intent scorer: intent prototypes, variational EM, inference.

``IntentScorer`` and ``IntentResult`` are imported lazily, so importing the light
:mod:`crsagent.tools.intent.split` (the dialogue split rule) does not pull in torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["IntentScorer", "IntentResult"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from crsagent.tools.intent import scorer

        return getattr(scorer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

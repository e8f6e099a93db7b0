"""Model ids of the API: the default ``crsagent`` and one id per graph variant."""

from __future__ import annotations

import time

from crsagent.agent.server.errors import APIError
from crsagent.agent.server.protocol import ModelCard, ModelList
from crsagent.agent.turns import VARIANTS

__all__ = ["DEFAULT_MODEL", "PREFIX", "resolve_model", "list_models"]

DEFAULT_MODEL = "crsagent"
PREFIX = "crsagent:"
_CREATED = int(time.time())


def resolve_model(model: str, *, variants: tuple[str, ...] = VARIANTS, default_variant: str = "full") -> str:
    """The graph variant a model id names.

    ``crsagent`` is the default variant; ``crsagent:<variant>`` and the bare variant name
    (``crs-only``) name a variant.

    Args:
        model: the request's ``model``.
        variants: the variants this server offers.
        default_variant: what ``crsagent`` runs.

    Raises:
        APIError: 404 ``model_not_found`` for any other id.
    """
    if model == DEFAULT_MODEL:
        return default_variant
    name = model[len(PREFIX) :] if model.startswith(PREFIX) else model
    if name in variants:
        return name
    shown = ", ".join([DEFAULT_MODEL, *variants])
    if name in VARIANTS:
        raise APIError(
            404,
            f"the model '{model}' is not served here: {_why_not_offered(name, variants)}; available models: {shown}",
            param="model",
            code="model_not_found",
        )
    raise APIError(
        404,
        f"the model '{model}' does not exist; available models: {shown} (or crsagent:<variant>)",
        param="model",
        code="model_not_found",
    )


def _why_not_offered(name: str, variants: tuple[str, ...]) -> str:
    from crsagent.graphs.variants import get_variant

    if get_variant(name).uses_llm and not any(get_variant(v).uses_llm for v in variants):
        return (
            f"the '{name}' graph needs an LLM, and this server runs without one (start it with "
            "--llm-base-url or CRSAGENT_LLM_BASE_URL, or --fake-llm)"
        )
    return f"the '{name}' graph is not among the variants this server offers"


def list_models(*, variants: tuple[str, ...] = VARIANTS, default_variant: str = "full") -> ModelList:
    """``GET /v1/models``: ``crsagent`` first, then every variant by its bare name."""
    cards = [ModelCard(id=DEFAULT_MODEL, created=_CREATED, variant=default_variant, default=True)]
    cards += [ModelCard(id=v, created=_CREATED, variant=v) for v in variants]
    return ModelList(data=cards)

"""Which ReDial dev dialogues the models may train on.

The intent model (and the CF co-mention pseudo-users) train on half of the 1,000 dev
dialogues; the other half stays unseen, so replay evaluations on it are clean. The rule is a
stable hash of the ``conversationId``: SHA-256 of the id, first byte even -> ``train``.
"""

from __future__ import annotations

import hashlib

__all__ = ["dialogue_split", "TRAIN", "HELDOUT"]

TRAIN = "train"
HELDOUT = "heldout"


def dialogue_split(conversation_id: str | int) -> str:
    """``"train"`` or ``"heldout"`` for a ReDial conversation id (about half each).

    Args:
        conversation_id: ReDial ``conversationId`` (as in ``dev_dialogues.jsonl`` and the
            ``dialog_id`` of ``dev_turns.jsonl``).

    Returns:
        ``TRAIN`` or ``HELDOUT``.
    """
    digest = hashlib.sha256(str(conversation_id).strip().encode()).digest()
    return TRAIN if digest[0] % 2 == 0 else HELDOUT

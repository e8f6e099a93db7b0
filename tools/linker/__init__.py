"""Understanding user text deterministically: entity linking and the attribute lexicon.

Modules: :mod:`~crsagent.tools.linker.linker` (``EntityLinker``, ``Mention``: catalogue items
mentioned in text), :mod:`~.lexicon` (``AttributeLexicon``, ``Extraction``: genres, people,
years, brands, negation), and their parts (:mod:`~.text`, :mod:`~.title_index`,
:mod:`~.evidence`, :mod:`~.usage`, :mod:`~.fuzzy`, :mod:`~.frequency`, :mod:`~.negation`, :mod:`~.years`,
:mod:`~.people`, :mod:`~.vocab`, :mod:`~.common_words`).
"""

__all__: list[str] = []

"""Vector search over the catalogue: chromadb + all-MiniLM-L6-v2.

Modules: :mod:`~crsagent.tools.search.index` (``VectorIndex``), :mod:`~.documents` (the text
embedded per item), :mod:`~.embedding` (the offline embedder), :mod:`~.stage` (the ``search``
build stage and ``load_index``), :mod:`~.tool` (the ``vector_search`` LangChain tool).
Import from the modules; this package imports nothing heavy on its own.
"""

__all__: list[str] = []

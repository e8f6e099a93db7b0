"""A fast CPU query encoder: all-MiniLM-L6-v2 exported to ONNX and run with onnxruntime.

Modules: :mod:`~crsagent.tools.encoder.export` (export and verification against
sentence-transformers), :mod:`~.quantize` (the checked int8 copy), :mod:`~.runtime`
(``OnnxEncoder`` and the process-wide active encoder that
:func:`crsagent.tools.search.embedding.embed_texts` uses for small batches), :mod:`~.stage`
(the ``encoder`` build stage). Import from the modules.
"""

__all__: list[str] = []

"""ragcook: embeddings for retrieval-augmented generation, taught with real models, offline.

Modules, each named after what it does:

- ``ragcook.data``      InsuranceQA and BEIR folders as one small ``Dataset``
- ``ragcook.models``    find bundled models offline (never downloads)
- ``ragcook.retrieve``  BM25, dense (FAISS) and hybrid retrievers with one interface
- ``ragcook.evaluate``  hit rate, recall@k, MRR, nDCG@10, MAP; paired tests
- ``ragcook.report``    tables and plots of results
"""

import os as _os

_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"

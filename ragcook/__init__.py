"""ragcook: embeddings for retrieval-augmented generation, taught with real models, offline.

The package follows the course's stages (see ARCHITECTURE.md):

- ``ragcook.data``      datasets: InsuranceQA, BEIR folders, corpora built here
- ``ragcook.text``      chunks, sentences, words
- ``ragcook.encode``    text to vectors: poolings, word2vec, sparse weights, late chunking
- ``ragcook.retrieve``  BM25, dense, sparse, fusion, top-k, the vector database
- ``ragcook.train``     generated questions, samples, hard negatives, fine-tuning
- ``ragcook.eval``      metrics, paired tests, the leaderboard, each lesson's experiment
- ``ragcook.pipeline``  the stages of ``ragcook run``; ``ragcook.cli`` the command line
"""

import os as _os

_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"

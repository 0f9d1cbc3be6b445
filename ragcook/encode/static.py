"""Static embeddings: a sentence is the average of fixed token vectors, from word2vec or distilled from a transformer.

The bridge from notebook 01 to notebook 02. A *static* model keeps one vector per token and
encodes a text by averaging its tokens' vectors: no attention, no layers, so it runs at
hundreds of thousands of texts per second on a CPU. Two ways to get the token vectors:

- **word2vec** (notebook 01): train them on in-domain text (here InsuranceQA's answers, never
  the test questions) with gensim; :func:`mean_word_vectors` averages them;
- **model2vec** (Tulkens & van Dongen, 2024): pass every token of a transformer's vocabulary through
  the transformer once, alone, keep its output vector, shrink them with PCA and weight them
  down for frequent tokens (SIF); :func:`distill_static` does it offline from a local model
  folder and caches the result under ``cache_dir()/static``.

What both lose is context: a token has one vector whatever surrounds it ("bank" of a river
and "bank" of a loan, notebook 02), and the average ignores word order.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from ragcook.cache import cache_dir
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, fingerprint, resolve


def static_dir(base: str | Path = DEFAULT_MODEL, pca_dims: int = 256) -> Path:
    """Where :func:`distill_static` keeps the static model of ``base`` (its fingerprint and settings in the name)."""
    key = hashlib.sha256(f"{fingerprint(base)}|{pca_dims}".encode()).hexdigest()[:10]
    return cache_dir() / "static" / f"{Path(str(base)).name}-m2v{pca_dims}-{key}"


def distill_static(base: str | Path = DEFAULT_MODEL, pca_dims: int = 256) -> Path:
    """The model2vec static model distilled from ``base`` (a local folder), from the cache or made now (~20 s on 2 cores)."""
    out = static_dir(base, pca_dims)
    if (out / "config.json").is_file():
        return out
    try:
        from model2vec.distill import distill
    except ImportError as e:
        raise RagcookError(
            f"distill_static needs model2vec's distillation: pip install model2vec==0.10.0 skeletoken==0.6.1 ({e})"
        ) from e
    model = distill(str(resolve(base)), pca_dims=pca_dims)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)  # a finished model or none: an interrupted run leaves only the .tmp folder
    return out


def load_static(path: str | Path):
    """A model2vec ``StaticModel`` from a local folder (never the hub), normalising its output vectors."""
    from model2vec import StaticModel

    path = Path(path)
    if not (path / "config.json").is_file():
        raise RagcookError(f"{path}: not a model2vec folder (no config.json); make one with distill_static()")
    return StaticModel.from_pretrained(str(path), normalize=True, force_download=False)


def encode_static(model, texts: list[str]) -> np.ndarray:
    """Unit float32 vectors of ``texts`` from a model2vec model (an average of token vectors)."""
    return np.asarray(model.encode(list(texts), use_multiprocessing=False), dtype=np.float32)


# --------------------------------------------------------------------------- word2vec averages


def word2vec_path(vector_size: int = 100, epochs: int = 4, seed: int = 13) -> Path:
    """Where :func:`insuranceqa_word2vec` keeps its vectors."""
    key = hashlib.sha256(json.dumps([vector_size, epochs, seed]).encode()).hexdigest()[:10]
    return cache_dir() / "word2vec" / f"insuranceqa-cbow{vector_size}-{key}.bin"


def insuranceqa_word2vec(vector_size: int = 100, epochs: int = 4, seed: int = 13):
    """CBOW word vectors trained on InsuranceQA's 27,413 answers (never the questions), cached (~15 s to train on 2 cores)."""
    from gensim.models import KeyedVectors

    from ragcook.encode import wordvec

    path = word2vec_path(vector_size, epochs, seed)
    if path.is_file():
        return KeyedVectors.load_word2vec_format(str(path), binary=True)
    model = wordvec.train(wordvec.insuranceqa_answers(), sg=False, vector_size=vector_size, epochs=epochs, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    model.wv.save_word2vec_format(str(tmp), binary=True)
    tmp.rename(path)
    return model.wv


def mean_word_vectors(wv, texts: list[str]) -> np.ndarray:
    """Unit float32 vectors: the average of each text's known word vectors (zeros when no word is known)."""
    from ragcook.encode.wordvec import tokenize

    out = np.zeros((len(texts), wv.vector_size), dtype=np.float32)
    for i, text in enumerate(texts):
        known = [w for w in tokenize(text) if w in wv.key_to_index]
        if known:
            v = np.mean([wv[w] for w in known], axis=0)
            out[i] = v / (np.linalg.norm(v) or 1.0)
    return out

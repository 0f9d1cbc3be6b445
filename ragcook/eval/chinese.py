"""Notebook 16's experiments: the course in Chinese, with the multilingual e5 (and notebook 12's last section).

The source's Chinese examples (清华大学 in word pieces, 长 in 长度 and 长高, 阿司匹林 called "A药"),
retrieval on InsuranceQA's Chinese side (machine-translated) with BM25-jieba, dense e5, their
hybrid, a BGE-M3-style sparse head on e5 and e5 fine-tuned with the source's query instruction;
and, for notebook 12, late chunking on Chinese statutes, whose articles say 本法 ("this law").

e5 expects ``query: `` before queries and ``passage: `` before passages (:data:`QUERY`, :data:`PASSAGE`);
the tuned models expect the instruction before queries and nothing before passages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ragcook.data import Dataset, load_insuranceqa
from ragcook.data.statutes import Law, law_text, names_law
from ragcook.encode.late_chunking import LateChunker
from ragcook.encode.pooling import cosine_matrix, word_vectors
from ragcook.encode.sparse import M3Encoder
from ragcook.encode.sparse_head import HeadConfig
from ragcook.eval.finetune import subset
from ragcook.eval.late_chunking import ContextEval, chunk_ranks, embed_chunks, judged_chunks, rank_chunks
from ragcook.eval.stats import paired_test
from ragcook.models import load_tokenizer
from ragcook.retrieve.bm25 import BM25
from ragcook.retrieve.dense import Dense
from ragcook.retrieve.fusion import fuse
from ragcook.retrieve.topk import search
from ragcook.text.words import tokenize_zh
from ragcook.types import Run

E5 = "e5-small"
QUERY, PASSAGE = "query: ", "passage: "

# --------------------------------------------------------------------------- the source's examples


def pieces(text: str, models=("minilm", E5)) -> dict[str, list[str]]:
    """How each model's tokenizer cuts ``text``: model -> its word pieces (no special tokens)."""
    return {m: load_tokenizer(m).tokenize(text) for m in models}


def unk_share(texts: list[str], model: str) -> float:
    """Share of the tokens of ``texts`` that ``model``'s tokenizer can only call unknown ([UNK])."""
    tok = load_tokenizer(model)
    ids = [i for t in texts for i in tok(t, add_special_tokens=False)["input_ids"]]
    return float(np.mean([i == tok.unk_token_id for i in ids])) if ids else 0.0


def sense_cosines(senses: dict[str, list[str]], char: str, model: str = E5) -> pd.DataFrame:
    """Mean cosine between the vectors of ``char`` in two contexts, per layer: same sense vs different sense.

    ``senses`` maps a reading (e.g. "cháng, long") to sentences that use ``char`` in that reading.
    Rows: layers 0 (the input embedding) to the last. A contextual model pulls the two readings apart.
    """
    texts = [t for group in senses.values() for t in group]
    label = np.array([k for k, group in senses.items() for _ in group])
    vecs = word_vectors(texts, char, model)  # (layers, texts, dim)
    same = (label[:, None] == label[None, :]) & ~np.eye(len(texts), dtype=bool)
    diff = label[:, None] != label[None, :]
    rows = []
    for layer, v in enumerate(vecs):
        c = cosine_matrix(v)
        rows.append({"layer": layer, "same sense": float(c[same].mean()), "different sense": float(c[diff].mean())})
    out = pd.DataFrame(rows).set_index("layer")
    out["gap"] = out["same sense"] - out["different sense"]
    return out


#: A made-up corpus (not from the source) for the source's alias failure: the question asks about
#: 阿司匹林 (aspirin) and side effects (副作用); the answer calls the drug "A药" and gives its chemical
#: name 乙酰水杨酸, and says 不良反应 (adverse reactions), so it shares no jieba word with the question.
ALIAS_DOCS = {
    "a1": "A药即乙酰水杨酸，长期服用可能出现胃肠道不适、胃出血等不良反应，饭后服用可减轻对胃的刺激。",
    "a2": "布洛芬的副作用包括恶心、头晕，少数人会出现皮疹。",
    "a3": "青霉素的副作用主要是过敏反应，用药前需要做皮试。",
    "a4": "对乙酰氨基酚的副作用较少，但过量服用会损伤肝脏。",
    "a5": "阿莫西林是一种抗生素，用于治疗细菌感染，对病毒性感冒无效。",
    "a6": "感冒药通常含有多种成分，不要同时服用两种感冒药。",
    "a7": "维生素C可以增强免疫力，但大量服用并不能预防感冒。",
    "a8": "头孢类药物与酒精同服会引起严重反应，用药期间不要饮酒。",
}
ALIAS_QUERY = "阿司匹林有哪些副作用？"
ALIAS_ANSWER = "a1"


def alias_rankings(docs: dict[str, str] = ALIAS_DOCS, query: str = ALIAS_QUERY, model: str = E5) -> dict[str, list[str]]:
    """Each retriever's ranking of ``docs`` for ``query``, best first: BM25 with jieba (only the
    documents sharing a word) and dense e5 (every document)."""
    bm25 = BM25(lang="zh").index(docs).search({"q": query}, k=len(docs))["q"]
    dense = e5_dense_run({"q": query}, docs, model)["q"]
    return {"bm25 (jieba)": list(bm25), "dense e5": list(dense)}


def shared_words(a: str, b: str) -> list[str]:
    """The jieba words two texts share: all BM25 can match on."""
    return sorted(set(tokenize_zh(a)) & set(tokenize_zh(b)))


# --------------------------------------------------------------------------- InsuranceQA in Chinese


def zh_splits(n_test: int = 200, n_test_docs: int = 600, n_valid: int = 100, n_valid_docs: int = 300, seed: int = 13):
    """(test, valid): InsuranceQA's machine-translated Chinese side, cut to fit a laptop (queries, their
    answers, and other answers up to ``n_*_docs`` documents; :func:`ragcook.eval.finetune.subset`)."""
    test = subset(load_insuranceqa("test", lang="zh", seed=seed), n_test, n_test_docs, seed)
    valid = subset(load_insuranceqa("valid", lang="zh", seed=seed), n_valid, n_valid_docs, seed)
    return test, valid


def zh_head_config(n_pairs: int = 400, **kw) -> HeadConfig:
    """The sparse head for e5 on Chinese: trained on ``n_pairs`` Chinese train pairs, with e5's prompts."""
    return HeadConfig(n_pairs=n_pairs, lang="zh", query_prompt=QUERY, passage_prompt=PASSAGE, **kw)


def m3_encoder(config: HeadConfig | None = None, model: str = E5, max_seq_length: int = 256) -> M3Encoder:
    """e5 with a BGE-M3-style sparse head: dense and sparse vectors from one forward pass."""
    enc = M3Encoder(model, config=config or zh_head_config())
    enc.model.max_seq_length = max_seq_length
    return enc


def e5_runs(enc: M3Encoder, ds: Dataset, k: int = 100):
    """(dense run, sparse run, passage sparse matrix) of one M3 pass over ``ds`` with e5's prompts."""
    qids, dids = list(ds.queries), list(ds.corpus)
    dv, dsp = enc.encode([PASSAGE + t for t in ds.corpus.values()])
    qv, qsp = enc.encode([QUERY + t for t in ds.queries.values()])
    return search(qv, dv, qids, dids, k), search(qsp, dsp, qids, dids, k, positive_only=True), dsp


def e5_dense_run(
    queries: dict[str, str], corpus: dict[str, str], model: str = E5, query_prompt: str = QUERY,
    passage_prompt: str = PASSAGE, max_seq_length: int = 256, k: int = 100,
) -> Run:  # fmt: skip
    """Dense retrieval with the prompts a model expects (e5's by default; a tuned model's instruction)."""
    d = Dense(str(model), max_seq_length=max_seq_length, backend="torch", show_progress=False)
    dv = d.encode(list(corpus.values()), prompt=passage_prompt)
    qv = d.encode(list(queries.values()), prompt=query_prompt)
    return search(qv, dv, list(queries), list(corpus), k)


def bm25_run(ds: Dataset, k: int = 100) -> Run:
    """BM25 over jieba words."""
    return BM25(lang="zh").index(ds.corpus).search(ds.queries, k)


def hybrid_run(bm25: Run, dense: Run, weight: float) -> Run:
    """Min-max fusion of a BM25 run and a dense run, ``weight`` on dense: what
    :func:`ragcook.eval.sparse.choose_fusion_weight` scores on validation data."""
    return fuse([bm25, dense], [1 - weight, weight], "minmax")


# --------------------------------------------------------------------------- late chunking on statutes


def statute_eval(laws: list[Law]) -> ContextEval:
    """Notebook 12's test on Chinese statutes: a law's text is its title then its articles; chunks are
    articles; the query is the law's name; relevant chunks are the articles that do not name the law
    (they say 本法, "this law"); articles that name it are left out of that query's ranking."""
    by_id = {law.id: law for law in laws}
    cut = {law.id: law_text(law) for law in laws}
    texts, spans = {d: t for d, (t, _) in cut.items()}, {d: sp for d, (_, sp) in cut.items()}
    names = {law.id: law.name for law in laws}
    return judged_chunks(texts, spans, names, lambda did, chunk: names_law(by_id[did], chunk))


def as_dataset(data: ContextEval, name: str = "statutes") -> Dataset:
    """The chunks, queries and judgements of a :class:`ContextEval` as a :class:`Dataset` (for the leaderboard)."""
    return Dataset(dict(data.corpus), dict(data.queries), dict(data.qrels), name=name, meta={"lang": "zh"})


def late_chunking_runs(
    chunker: LateChunker, data: ContextEval, query_prompt: str = QUERY, methods=("naive", "late", "whole-doc")
):
    """(runs, vectors, query vectors): each method's ranking of the chunks, queries with e5's prompt."""
    vecs = embed_chunks(chunker, data, methods)
    qv = chunker.encode([query_prompt + q for q in data.queries.values()])
    return {m: rank_chunks(data, qv, v) for m, v in vecs.items()}, vecs, qv


def chunk_test(data: ContextEval, qv: np.ndarray, vecs: dict[str, np.ndarray], a: str, b: str, k: int = 10) -> dict:
    """Paired test over relevant chunks (not queries): the chance each is in its query's top ``k``, ``b`` minus ``a``."""
    top = {m: chunk_ranks(data, qv, vecs[m], k).set_index("chunk")["top"].to_dict() for m in (a, b)}
    return paired_test(top[a], top[b])

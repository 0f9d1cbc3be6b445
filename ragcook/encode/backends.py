"""Faster inference for a bi-encoder: the same model exported to ONNX Runtime or OpenVINO, and quantised.

sentence-transformers' own ``backend="onnx"`` / ``"openvino"`` need optimum packages that do not
install beside the course's transformers pin, so this module does the export itself:

- ``onnx``: ``torch.onnx.export`` of the transformer *with* its pooling and normalisation, so
  the graph returns the sentence vectors. Attention must be ``"eager"`` (the default SDPA path exports
  a graph that runs but returns wrong vectors), and the padding mask is given as a ready additive 4-d
  mask, so no mask-building code is traced at the one shape of the example input.
- ``onnx-int8``: that graph with int8 weights (per output channel) and activations quantised per
  batch at run time (``onnxruntime.quantization.quantize_dynamic``), in every linear layer;
  ``onnx-int8-mixed`` keeps each feed-forward block's output projection in fp32 (its input, after
  GELU, has the outliers that 8 bits render worst).
- ``openvino`` / ``openvino-int8``: the ONNX graph read by ``openvino.convert_model``, run in
  OpenVINO at fp32; int8 compresses the weights with NNCF (``nncf.compress_weights``, data-free).

A cross-encoder folder (sentence-transformers' ``model_type`` "CrossEncoder") exports the same way with its head
instead of the pooling: the graph returns one raw score per (query, passage) pair, and
:class:`ragcook.retrieve.rerank.CrossEncoderScorer` runs it.

Exports are built on first use under ``cache_dir()/backends/<fingerprint>-<backend>`` (a temporary
folder renamed when complete), so a cold CI run pays each export once. :class:`ExportedEncoder`
tokenises once, sorts texts by length so each batch pads little, and returns normalised float32
vectors in the input order. Training never goes through here: it keeps torch.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from ragcook import progress
from ragcook.cache import cache_dir
from ragcook.errors import RagcookError, warn
from ragcook.models import DEFAULT_MODEL, fingerprint, load_tokenizer, pooling_of, resolve

#: Every backend this module knows; "torch" is sentence-transformers itself.
BACKENDS = ("torch", "onnx", "onnx-int8", "onnx-int8-mixed", "openvino", "openvino-int8")
#: The course's default for search. Of benchmarks/bench_encode.py's candidates within 0.005 nDCG@10 of torch
#: at the model's own input length, onnx-int8 and onnx-int8-mixed tie on speed (1.79x and 1.76x torch on
#: 2 cores, benchmarks/README.md); the mixed one stays closer to torch's vectors (worst cosine 0.989 vs
#: 0.955). Cutting inputs to 128 pieces was faster still, but that is a choice about the data (it drops the
#: end of long passages), not the encoder's.
DEFAULT_BACKEND = "onnx-int8-mixed"
#: What training uses, mining its negatives included: torch, as the reference, so a trained model and the
#: committed experiments (data/recipe/experiments.json) do not depend on the inference backend.
TRAIN_BACKEND = "torch"
#: Bumped when an export changes, so cached vectors of an older export are not reused.
EXPORT_VERSION = 2
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_tag(backend: str) -> str:
    """What a backend adds to an embedding-cache key: nothing for torch, its name and export version otherwise."""
    return "" if backend == "torch" else f"|{backend}/v{EXPORT_VERSION}"


def default_threads() -> int:
    """CPU threads for inference: ``RAGCOOK_THREADS``, else ``OMP_NUM_THREADS`` (what torch also obeys; ``make
    test`` gives each worker its share), else the cores this process may use."""
    for var in ("RAGCOOK_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").strip().isdigit():
            return max(1, int(os.environ[var]))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def max_length_of(model: str | os.PathLike = DEFAULT_MODEL) -> int:
    """The model's own truncation length: sentence-transformers' ``max_seq_length``, else its positions."""
    root = resolve(model)
    st = root / "sentence_bert_config.json"
    if st.is_file() and json.loads(st.read_text(encoding="utf-8")).get("max_seq_length"):
        return int(json.loads(st.read_text(encoding="utf-8"))["max_seq_length"])
    config = json.loads((root / "config.json").read_text(encoding="utf-8"))
    return int(min(config.get("max_position_embeddings", 512), load_tokenizer(model).model_max_length))


def available(backend: str) -> bool:
    """Whether the runtime a backend needs is installed (torch always is)."""
    import importlib.util

    need = {"torch": "torch", "onnx": "onnxruntime", "onnx-int8": "onnxruntime", "onnx-int8-mixed": "onnxruntime"}
    need |= {"openvino": "openvino", "openvino-int8": "nncf"}
    if backend not in need:
        raise RagcookError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    mods = [need[backend]] + (["onnx"] if backend != "torch" else []) + (["openvino"] if backend == "openvino-int8" else [])
    return all(importlib.util.find_spec(m) is not None for m in mods)


# --------------------------------------------------------------------------- export


def is_cross_encoder(model: str | os.PathLike) -> bool:
    """Whether a folder is a sentence-transformers cross-encoder (its configuration says so)."""
    path = resolve(model) / "config_sentence_transformers.json"
    return path.is_file() and json.loads(path.read_text(encoding="utf-8")).get("model_type") == "CrossEncoder"


def _additive_mask(attention_mask):
    """A ready additive mask (0 = attend, float32 min = padding), used by the model as it is, at any shape."""
    import torch

    return (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min


def _pair_module(model: str | os.PathLike):
    """A cross-encoder as one torch module (eager attention): token ids of (query, passage) pairs in, one raw score
    per pair out. Its own modules after the transformer (pooling, the one-output head) run as they are; a classic
    sequence-classification cross-encoder has none, and its logit is the score."""
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    modules = list(CrossEncoder(str(resolve(model)), device="cpu").eval())
    net, rest = modules[0].auto_model, torch.nn.ModuleList(modules[1:])
    net.set_attn_implementation("eager")

    class Pair(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.rest = net, rest

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.net(input_ids=input_ids, attention_mask=_additive_mask(attention_mask), token_type_ids=token_type_ids)
            if len(self.rest) == 0:
                return out.logits[:, 0]
            features = {"token_embeddings": out.last_hidden_state, "attention_mask": attention_mask}
            for module in self.rest:
                features = module(features)
            return features["scores"].reshape(-1)

    return Pair()


def _sentence_module(model: str | os.PathLike):
    """The transformer plus its pooling and L2 normalisation, as one torch module (eager attention)."""
    import torch
    from transformers import AutoModel

    pooling = pooling_of(model)
    if pooling not in ("mean", "cls"):
        raise RagcookError(f"export: pooling {pooling!r} is not supported (mean or cls)")
    net = AutoModel.from_pretrained(str(resolve(model)), attn_implementation="eager", local_files_only=True).eval()

    class Sentence(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.net(input_ids=input_ids, attention_mask=_additive_mask(attention_mask), token_type_ids=token_type_ids)
            h = h.last_hidden_state
            if pooling == "cls":
                v = h[:, 0]
            else:
                m = attention_mask.unsqueeze(-1).to(h.dtype)
                v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, p=2, dim=1)

    return Sentence()


def export_onnx(model: str | os.PathLike, out: Path) -> Path:
    """Export the model to ``out/model.onnx`` (dynamic batch and length): a bi-encoder with its pooling and
    normalisation (output: the sentence vectors), a cross-encoder with its head (output: one score per pair)."""
    import warnings

    import torch

    pairs = is_cross_encoder(model)
    module = _pair_module(model) if pairs else _sentence_module(model)
    tok = load_tokenizer(model)
    texts = ["a short one", "a somewhat longer example sentence for tracing"]
    sample = tok(texts, texts[::-1] if pairs else None, padding=True, return_tensors="pt")
    args = tuple(sample[k] if k in sample else torch.zeros_like(sample["input_ids"]) for k in _INPUTS)
    output = "score" if pairs else "embedding"
    axes = {k: {0: "batch", 1: "sequence"} for k in _INPUTS} | {output: {0: "batch"}}
    path = out / "model.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's warnings are about shapes it keeps dynamic here
        torch.onnx.export(module, args, str(path), input_names=list(_INPUTS), output_names=[output],
                          dynamic_axes=axes, opset_version=17, dynamo=False)  # fmt: skip
    return path


def quantize_onnx(src: Path, out: Path, mixed: bool = False) -> Path:
    """int8 weights, activations quantised per batch at run time (ONNX Runtime's dynamic quantisation).

    ``mixed`` leaves the feed-forward output projections (``.../output/dense`` outside attention) in fp32.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = out / "model.onnx"
    names = [n.name for n in onnx.load(str(src), load_external_data=False).graph.node if n.op_type == "MatMul"]
    keep = [n for n in names if "output/dense" in n and "attention" not in n] if mixed else []
    # Per-channel int8 weights for the matrix products with a constant weight (the linear layers);
    # per-tensor weights and 7-bit "reduce_range" lost more accuracy in our trials on an AVX2 CPU.
    # It logs a "consider pre-processing" hint through logging.warning(), which would also give the root logger a
    # stderr handler for good (and with it, every library's debug lines); a handler of our own for the call stops that.
    root, quiet = logging.getLogger(), logging.NullHandler()
    level, root.level = root.level, max(root.level, logging.ERROR)
    root.addHandler(quiet)
    try:
        quantize_dynamic(src, path, op_types_to_quantize=["MatMul"], per_channel=True, weight_type=QuantType.QInt8,
                         nodes_to_exclude=keep, extra_options={"MatMulConstBOnly": True})  # fmt: skip
    finally:
        root.level = level
        root.removeHandler(quiet)
    return path


def export_openvino(onnx_path: Path, out: Path, int8: bool) -> Path:
    """OpenVINO IR from the ONNX graph; with ``int8``, weights compressed to int8 by NNCF (no data needed)."""
    import openvino as ov

    net = ov.convert_model(str(onnx_path))
    if int8:
        import nncf

        net = nncf.compress_weights(net, mode=nncf.CompressWeightsMode.INT8_ASYM)
    path = out / "model.xml"
    ov.save_model(net, str(path), compress_to_fp16=False)
    return path


def _build(model: str | os.PathLike, backend: str, out: Path) -> None:
    if backend == "onnx":
        export_onnx(model, out)
    elif backend in ("onnx-int8", "onnx-int8-mixed"):
        quantize_onnx(ensure_export(model, "onnx") / "model.onnx", out, mixed=backend.endswith("mixed"))
    elif backend in ("openvino", "openvino-int8"):
        export_openvino(ensure_export(model, "onnx") / "model.onnx", out, int8=backend.endswith("int8"))
    else:
        raise RagcookError(f"no export for backend {backend!r}; use one of {', '.join(BACKENDS[1:])}")


def ensure_export(model: str | os.PathLike = DEFAULT_MODEL, backend: str = "onnx") -> Path:
    """The folder of the model's export for ``backend``, built on first use (atomically) and reused after."""
    final = cache_dir() / "backends" / f"{fingerprint(model)}-{backend}-v{EXPORT_VERSION}"
    if (final / "done.json").is_file():
        return final
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t = time.perf_counter()
    try:
        _build(model, backend, tmp)
        (tmp / "done.json").write_text(json.dumps({"model": str(resolve(model)), "backend": backend,
                                                   "seconds": round(time.perf_counter() - t, 1)}))  # fmt: skip
        try:
            os.replace(tmp, final)
        except OSError:  # another process finished the same export first: keep theirs
            if not (final / "done.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


# --------------------------------------------------------------------------- inference


class ExportedEncoder:
    """Sentence vectors from an exported model: ``encode(texts, batch_size)`` -> normalised float32 rows; for an
    exported cross-encoder, ``encode(pairs)`` -> one raw score per (query, passage) pair."""

    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL, backend: str = "onnx-int8",
                 max_seq_length: int | None = None, threads: int | None = None):  # fmt: skip
        if backend not in BACKENDS[1:]:
            raise RagcookError(f"ExportedEncoder: backend must be one of {', '.join(BACKENDS[1:])}, got {backend!r}")
        self.model, self.backend = model, backend
        self.max_seq_length = max_seq_length or max_length_of(model)
        self.threads = threads or default_threads()
        self.tokenizer = load_tokenizer(model)
        folder = ensure_export(model, backend)
        self._run = self._onnxruntime(folder) if backend.startswith("onnx") else self._openvino(folder)

    def _onnxruntime(self, folder: Path):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = self.threads, 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Threads that spin while waiting steal the core from whoever else runs on a small, shared machine.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sess = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        names = {i.name for i in sess.get_inputs()}
        return lambda feed: sess.run(None, {k: v for k, v in feed.items() if k in names})[0]

    def _openvino(self, folder: Path):
        import openvino as ov

        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": self.threads, "INFERENCE_PRECISION_HINT": "f32",
                  "PERFORMANCE_HINT": "LATENCY"}  # fmt: skip
        compiled = core.compile_model(str(folder / "model.xml"), "CPU", config)
        names = {p.any_name for p in compiled.inputs}
        return lambda feed: compiled({k: v for k, v in feed.items() if k in names})[compiled.output(0)]

    def encode(
        self, texts: list[str] | list[tuple[str, str]], batch_size: int = 64, show_progress: bool | None = False
    ) -> np.ndarray:
        """Normalised float32 vectors, one row per text, in order; batches are formed by length.

        Pairs, a cross-encoder's input, give one raw score per pair instead; each pair is cut to ``max_seq_length``
        tokens together, the longer text first, as sentence-transformers' ``CrossEncoder`` cuts them.
        """
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if isinstance(texts[0], (tuple, list)):
            firsts, seconds = [t[0] for t in texts], [t[1] for t in texts]
            ids = self.tokenizer(firsts, seconds, truncation="longest_first", max_length=self.max_seq_length)
        else:
            ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_seq_length)
        types = ids.get("token_type_ids") or [[0] * len(x) for x in ids["input_ids"]]
        lengths = np.array([len(x) for x in ids["input_ids"]])
        order = np.argsort(-lengths, kind="stable")
        pad = self.tokenizer.pad_token_id or 0
        out: np.ndarray | None = None
        starts = range(0, len(texts), batch_size)
        for s in progress.bar(starts, total=len(starts), desc="encode", show=show_progress and len(starts) > 1):
            rows = order[s : s + batch_size]
            width = int(lengths[rows].max())
            feed = {k: np.full((len(rows), width), pad if k == "input_ids" else 0, dtype=np.int64) for k in _INPUTS}
            for r, i in enumerate(rows):
                n = lengths[i]
                feed["input_ids"][r, :n] = ids["input_ids"][i]
                feed["attention_mask"][r, :n] = 1
                feed["token_type_ids"][r, :n] = types[i]
            vecs = np.asarray(self._run(feed), dtype=np.float32)
            if out is None:
                out = np.empty((len(texts), *vecs.shape[1:]), dtype=np.float32)
            out[rows] = vecs
        return out


_warned: set[str] = set()


def resolve_backend(backend: str | None = None) -> str:
    """The backend to run: ``backend`` (``None``: :data:`DEFAULT_BACKEND`), or torch if its runtime is missing.

    The fallback says so once per process, in one line: the vectors stay right, only slower.
    """
    backend = backend or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise RagcookError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend != "torch" and not available(backend):
        if backend not in _warned:
            _warned.add(backend)
            warn(f"backend {backend!r} needs onnxruntime/openvino, not installed (pip install 'ragcook[fast]'): using torch")
        return "torch"
    return backend

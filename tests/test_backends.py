"""Exported encoders: the same vectors as torch, a cache key per backend, and a fallback to torch."""

import numpy as np
import pytest

from ragcook.encode import backends
from ragcook.errors import RagcookError
from ragcook.retrieve import Dense

TEXTS = [
    "What does a whole life insurance policy cover?",
    "Car insurance",
    "Homeowners insurance usually covers damage from fire and wind, but not from floods, which need a policy of their own.",
    "Is term life cheaper than whole life insurance for a healthy thirty-year-old who does not smoke?",
    "A deductible is what you pay before the insurer pays anything. " * 30,  # longer than 256 word pieces
    "ok",
]


def _torch_vectors(texts):
    from ragcook.models import load_sentence_transformer

    st = load_sentence_transformer("minilm")
    return st.encode(texts, batch_size=2, normalize_embeddings=True, convert_to_numpy=True)


@pytest.mark.slow
def test_exported_encoders_match_torch():
    pytest.importorskip("onnxruntime")
    ref = _torch_vectors(TEXTS)
    fp32 = backends.ExportedEncoder("minilm", "onnx").encode(TEXTS, batch_size=2)  # batches cross lengths
    assert fp32.dtype == np.float32 and fp32.shape == ref.shape
    np.testing.assert_allclose(np.linalg.norm(fp32, axis=1), 1.0, atol=1e-5)
    assert (fp32 * ref).sum(1).min() > 0.9999  # same vectors, in the input order
    int8 = backends.ExportedEncoder("minilm", "onnx-int8").encode(TEXTS, batch_size=4)
    cos = (int8 * ref).sum(1)
    # int8 moves vectors a little, very short texts most (benchmarks/bench_encode.py measures it on InsuranceQA).
    assert cos.min() > 0.95 and cos.mean() > 0.98
    assert not np.allclose(int8, ref, atol=1e-4)  # it really is another model


def test_cache_key_differs_by_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    monkeypatch.setattr(backends, "available", lambda b: True)  # no runtime runs here: the encoders are fakes
    texts = [f"passage {i}" for i in range(40)]  # above the cache's minimum size

    class Fake:
        def __init__(self, value):
            self.value = value

        def encode(self, batch, *args, **kwargs):
            return np.full((len(batch), 4), self.value, dtype=np.float32)

    onnx = Dense(backend="onnx")
    onnx._encoder = Fake(1.0)
    torch_ = Dense(backend="torch")
    torch_._model = Fake(2.0)
    assert onnx.encode(texts)[0, 0] == 1.0 and torch_.encode(texts)[0, 0] == 2.0
    assert len(list(tmp_path.glob("emb-*"))) == 2
    again = Dense(backend="onnx")
    again._encoder = Fake(3.0)
    assert again.encode(texts)[0, 0] == 1.0  # read back from the onnx entry, not recomputed


def test_missing_runtime_falls_back_to_torch(monkeypatch, capsys):
    monkeypatch.setattr(backends, "available", lambda b: b == "torch")
    monkeypatch.setattr(backends, "_warned", set())
    assert Dense(backend="onnx-int8").backend == "torch"
    assert Dense(backend=None).backend == "torch"
    Dense(backend="onnx-int8")
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == len({"onnx-int8", backends.DEFAULT_BACKEND} - {"torch"})  # once per backend
    with pytest.raises(RagcookError):
        Dense(backend="tensorrt")


def test_export_is_atomic_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    calls = []

    def build(model, backend, out):
        calls.append(backend)
        if backend == "openvino":
            raise RuntimeError("export failed half-way")
        (out / "model.onnx").write_text("graph")

    monkeypatch.setattr(backends, "_build", build)
    first = backends.ensure_export("minilm", "onnx")
    assert (first / "model.onnx").read_text() == "graph" and (first / "done.json").is_file()
    assert backends.ensure_export("minilm", "onnx") == first and calls == ["onnx"]  # built once
    with pytest.raises(RuntimeError):
        backends.ensure_export("minilm", "openvino")
    left = [p.name for p in (tmp_path / "backends").iterdir()]
    assert left == [first.name]  # no half-written folder stays behind

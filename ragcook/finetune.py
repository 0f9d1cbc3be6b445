"""Fine-tune a bi-encoder on (query, positive, negatives) samples, cheaply enough for a laptop CPU.

Two backends train the same kind of model from the same JSONL samples (:mod:`ragcook.samples`):

- ``st``: sentence-transformers' ``SentenceTransformerTrainer`` with MultipleNegativesRankingLoss
  (InfoNCE with in-batch negatives, plus mined hard negatives when the samples have them) and
  the no-duplicates batch sampler, so no batch holds the same text twice (a false negative);
- ``flag``: FlagEmbedding's own entry point, ``python -m FlagEmbedding.finetune.embedder.encoder_only.base``,
  launched with ``torchrun`` as its documentation does.

Both write checkpoints and resume from the last one after an interruption, log the loss as JSON
lines (``loss.jsonl``) and plot it (``loss.png``). :func:`ensure_finetuned` keeps one trained
model in the cache for later notebooks; :func:`stage_finetune` is the ``ragcook run`` stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, resolve
from ragcook.samples import Sample, read_jsonl, to_st_dataset, write_jsonl

#: Settings the course trains with: cheap on 2 CPU cores, and enough to move InsuranceQA.
DEFAULTS = dict(batch_size=32, lr=1e-4, max_seq_length=64, max_steps=20, n_negatives=1, seed=13)


@dataclass
class FinetuneResult:
    path: Path
    log_path: Path
    plot_path: Path | None
    seconds: float
    resumed_from: str | None = None
    log: list[dict] = field(default_factory=list)


# --------------------------------------------------------------------------- logs and plots


def read_log(path: str | Path) -> list[dict]:
    """The JSON lines a run logged: ``{"step", "loss"}`` rows and ``{"step", "eval_*"}`` rows."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_log(log: list[dict], path: str | Path, metric: str | None = None, title: str = "") -> Path:
    """Training loss per step, and ``metric`` (an eval key, e.g. ``eval_ir_cosine_ndcg@10``) on a second axis."""
    import matplotlib

    matplotlib.use("Agg") if "matplotlib_inline" not in sys.modules else None
    import matplotlib.pyplot as plt

    path = Path(path)
    loss = [(r["step"], r["loss"]) for r in log if "loss" in r]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    if loss:
        ax.plot(*zip(*loss), marker=".", label="training loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    evals = [(r["step"], r[metric]) for r in log if metric and metric in r]
    if evals:
        ax2 = ax.twinx()
        ax2.plot(*zip(*evals), marker="o", color="tab:orange", label=metric)
        ax2.set_ylabel(metric.replace("eval_", ""), color="tab:orange")
    ax.set_title(title or "fine-tuning", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _log_callback(log_path: Path):
    from transformers import TrainerCallback

    class JsonLinesLogger(TrainerCallback):
        """Append every logged value (loss, learning rate, eval metrics) to a JSON-lines file."""

        def on_log(self, args, state, control, logs=None, **kw):
            if not state.is_world_process_zero or not logs:
                return
            row = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4)}
            row.update({k: float(v) for k, v in logs.items() if isinstance(v, (int, float))})
            with log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")

    return JsonLinesLogger()


def last_checkpoint(folder: str | Path) -> str | None:
    """The newest ``checkpoint-N`` folder under ``folder``, or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder))


def _report_to() -> str:
    import importlib.util

    return "tensorboard" if importlib.util.find_spec("tensorboard") else "none"


# --------------------------------------------------------------------------- evaluation helpers


def subset(ds, n_queries: int = 100, n_docs: int = 500, seed: int = 13):
    """A smaller copy of ``ds``: ``n_queries`` queries, their positives, topped up to ``n_docs`` documents.

    For quick evaluations during training (encoding 2,000 answers costs ~40 s on 2 cores).
    """
    from ragcook.data import Dataset

    small = ds.take(min(n_queries, len(ds.queries)), seed=seed)
    keep = {d for q in small.queries for d, g in small.qrels.get(q, {}).items() if d in ds.corpus}
    others = sorted(set(ds.corpus) - keep)
    keep |= set(random.Random(seed).sample(others, max(0, min(len(others), n_docs - len(keep)))))
    corpus = {d: t for d, t in ds.corpus.items() if d in keep}
    return Dataset(corpus, small.queries, small.qrels, name=f"{ds.name}-subset", meta=dict(ds.meta))


def ir_evaluator(ds, name: str = "ir", query_prompt: str = ""):
    """sentence-transformers' InformationRetrievalEvaluator over a ragcook Dataset (nDCG@10 and friends)."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    rel = {q: {d for d, g in docs.items() if g > 0} for q, docs in ds.qrels.items() if q in ds.queries}
    return InformationRetrievalEvaluator(
        queries={q: query_prompt + t for q, t in ds.queries.items()},
        corpus=ds.corpus,
        relevant_docs=rel,
        name=name,
        ndcg_at_k=[10],
        mrr_at_k=[10],
        accuracy_at_k=[1, 10],
        precision_recall_at_k=[10],
        map_at_k=[100],
        show_progress_bar=False,
        batch_size=64,
    )


def before_after(
    ds, models: dict[str, str | Path], bm25: bool = True, query_prompts: dict[str, str] | None = None,
    max_seq_length: int | None = 128,
):
    """nDCG@10, recall@10, MRR@10 of BM25 and of each dense model on ``ds``: label -> metrics.

    Passages are cut to ``max_seq_length`` tokens for every model alike (128: half the encoding time
    of MiniLM's 256 on 2 cores, and the base model scores no worse on InsuranceQA); None keeps each model's own.
    """
    from ragcook.data import lang_of
    from ragcook.evaluate import evaluate
    from ragcook.retrieve import BM25, Dense

    res = {}
    if bm25:
        res["bm25"] = evaluate(ds.qrels, BM25(lang_of(ds)).index(ds.corpus).search(ds.queries, 100))
    for label, path in models.items():
        prompt = (query_prompts or {}).get(label, "")
        run = Dense(str(path), query_prompt=prompt, max_seq_length=max_seq_length, show_progress=False).index(ds.corpus).search(ds.queries, 100)
        res[label] = evaluate(ds.qrels, run)
    return res


# --------------------------------------------------------------------------- sentence-transformers backend


def finetune_st(
    samples: list[Sample],
    out: str | Path,
    base: str | Path = DEFAULT_MODEL,
    epochs: float = 1.0,
    max_steps: int = -1,
    batch_size: int = 32,
    lr: float = 1e-4,
    max_seq_length: int = 64,
    n_negatives: int = 0,
    evaluator=None,
    eval_steps: int | None = None,
    save_steps: int | None = None,
    seed: int = 13,
    keep_checkpoints: bool = False,
    logging_steps: int = 2,
) -> FinetuneResult:
    """MultipleNegativesRankingLoss + the no-duplicates sampler; the model is saved to ``out``.

    Trains with ``max_seq_length`` (short, for speed) and saves the model with the base model's
    own length, so it is evaluated like the base. Checkpoints go to ``out/checkpoints`` every
    ``save_steps``; if one exists, training resumes from it. They are deleted once the model is
    saved unless ``keep_checkpoints``.
    """
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments, losses
    from sentence_transformers.training_args import BatchSamplers

    from ragcook.models import load_sentence_transformer

    if not samples:
        raise RagcookError("finetune: no samples to train on")
    out = Path(out)
    ckpt_dir = out / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    log_path = out / "loss.jsonl"
    resume = last_checkpoint(ckpt_dir)
    if not resume and log_path.exists():
        log_path.unlink()
    train = to_st_dataset(samples, n_negatives=n_negatives).shuffle(seed=seed)
    if len(train) == 0:
        raise RagcookError(f"finetune: no sample has {n_negatives} negatives; mine them or lower n_negatives")
    model = load_sentence_transformer(base)
    full_len = model.max_seq_length
    model.max_seq_length = max_seq_length
    args = SentenceTransformerTrainingArguments(
        output_dir=str(ckpt_dir),
        num_train_epochs=epochs,
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        learning_rate=lr,
        warmup_steps=0.1,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        logging_steps=logging_steps,
        eval_strategy="steps" if evaluator is not None and eval_steps else "no",
        eval_steps=eval_steps,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        save_total_limit=1,
        report_to=_report_to(),
        seed=seed,
        data_seed=seed,
        use_cpu=True,
        disable_tqdm=True,
        dataloader_drop_last=False,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train,
        loss=losses.MultipleNegativesRankingLoss(model),
        evaluator=evaluator,
        callbacks=[_log_callback(log_path)],
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # losses go to loss.jsonl, not to the notebook
    t0 = time.perf_counter()
    if evaluator is not None and eval_steps and not resume:
        _log_eval(log_path, 0, evaluator(model))
    trainer.train(resume_from_checkpoint=resume or None)
    seconds = time.perf_counter() - t0
    model.max_seq_length = full_len
    model.save(str(out))
    if not keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    log = read_log(log_path)
    plot = plot_log(log, out / "loss.png", metric=_eval_key(log), title=f"{Path(str(base)).name} fine-tuning (MNRL)")
    return FinetuneResult(out, log_path, plot, seconds, resume, log)


def _log_eval(log_path: Path, step: int, metrics: dict) -> None:
    row = {"step": step, **{f"eval_{k}": float(v) for k, v in metrics.items()}}
    with log_path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def _eval_key(log: list[dict]) -> str | None:
    keys = [k for r in log for k in r if k.startswith("eval_") and k.endswith("ndcg@10")]
    return keys[0] if keys else None


# --------------------------------------------------------------------------- FlagEmbedding backend


def flag_command(
    train_data: str | Path,
    out: str | Path,
    base: str | Path = DEFAULT_MODEL,
    max_steps: int = 20,
    batch_size: int = 8,
    train_group_size: int = 2,
    lr: float = 5e-5,
    temperature: float = 0.05,
    query_max_len: int = 32,
    passage_max_len: int = 64,
    query_instruction: str | None = None,
    save_steps: int | None = None,
    resume_from: str | None = None,
    gpu: bool = False,
    nproc: int = 1,
    seed: int = 13,
) -> list[str]:
    """The ``torchrun ... -m FlagEmbedding.finetune.embedder.encoder_only.base`` command line.

    ``gpu=True`` shows what a GPU run changes: fp16, DeepSpeed (ZeRO stage 0 config) and
    ``--nproc_per_node`` = number of GPUs; the CPU run needs ``--use_cpu True`` and neither.
    """
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    cmd = [
        torchrun, "--nproc_per_node", str(nproc), "--master_port", str(29500 + os.getpid() % 500),
        "-m", "FlagEmbedding.finetune.embedder.encoder_only.base",
        "--model_name_or_path", str(resolve(base) if not gpu else base),
        "--train_data", str(train_data),
        "--output_dir", str(out),
        "--train_group_size", str(train_group_size),
        "--query_max_len", str(query_max_len),
        "--passage_max_len", str(passage_max_len),
        "--per_device_train_batch_size", str(batch_size),
        "--learning_rate", str(lr),
        "--max_steps", str(max_steps),
        "--warmup_steps", "0.1",
        "--temperature", str(temperature),
        "--sentence_pooling_method", "mean",
        "--normalize_embeddings", "True",
        "--logging_steps", "2",
        "--seed", str(seed),
        "--dataloader_drop_last", "True",
        "--report_to", _report_to(),
    ]
    if query_instruction:
        cmd += ["--query_instruction_for_retrieval", query_instruction, "--query_instruction_format", "{}{}"]
    cmd += ["--save_strategy", "steps", "--save_steps", str(save_steps)] if save_steps else ["--save_strategy", "no"]
    if resume_from:
        cmd += ["--resume_from_checkpoint", resume_from]
    if gpu:
        cmd += ["--fp16", "--deepspeed", "ds_stage0.json", "--gradient_checkpointing"]
    else:
        cmd += ["--use_cpu", "True"]
    return cmd


_LOG_LINE = re.compile(r"\{'loss': .*?\}")


def finetune_flag(
    samples: list[Sample] | str | Path,
    out: str | Path,
    base: str | Path = DEFAULT_MODEL,
    timeout: float | None = None,
    resume_checkpoint: bool = False,
    **kw,
) -> FinetuneResult:
    """Run FlagEmbedding's fine-tuning as a subprocess; parse its logged losses into ``loss.jsonl``.

    ``samples`` is a list of :class:`Sample` (written to ``out/train.jsonl``) or a JSONL path. Keyword
    arguments go to :func:`flag_command`. The output streams to ``out/train.log``. With
    ``resume_checkpoint=True`` it passes the newest ``out/model/checkpoint-N`` to
    ``--resume_from_checkpoint`` (fails with FlagEmbedding 1.4.2 + transformers 5, see the code);
    otherwise an old ``out/model`` is replaced.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(samples) if isinstance(samples, (str, Path)) else write_jsonl(samples, out / "train.jsonl")
    read_jsonl(data)  # fail early, naming the line, on a bad file
    model_dir = out / "model"
    # FlagEmbedding 1.4.2 cannot resume under transformers 5 (its model wrapper lacks
    # ``_keys_to_ignore_on_save``, which Trainer._load_from_checkpoint reads), so resuming is opt-in.
    resume = last_checkpoint(model_dir) if resume_checkpoint else None
    if model_dir.exists() and not resume:
        shutil.rmtree(model_dir)
    cmd = flag_command(data, model_dir, base=base, resume_from=resume, **kw)
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    t0 = time.perf_counter()
    text_log = out / "train.log"
    with text_log.open("a" if resume else "w", encoding="utf-8") as f:
        f.write(f"=== start {_start_step(resume)}\n")
        f.flush()  # the output goes straight to the file, so an interrupted run keeps its losses
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout)
    seconds = time.perf_counter() - t0
    text = text_log.read_text(encoding="utf-8")
    if proc.returncode != 0:
        tail = text.strip().splitlines()[-1:] or ["(no output)"]
        raise RagcookError(f"FlagEmbedding fine-tuning failed (exit {proc.returncode}): {tail[0]}; see {text_log}")
    log_path = out / "loss.jsonl"
    rows: dict[int, dict] = {}
    for segment in text.split("=== start ")[1:]:  # one segment per attempt; a resumed one starts at its checkpoint
        first, _, body = segment.partition("\n")
        for r in parse_trainer_log(body, logging_steps=2, start=int(first.strip() or 0)):
            rows[r["step"]] = r
    with log_path.open("w", encoding="utf-8") as f:
        for step in sorted(rows):
            f.write(json.dumps(rows[step]) + "\n")
    log = read_log(log_path)
    plot = plot_log(log, out / "loss.png", title=f"{Path(str(base)).name} fine-tuning (FlagEmbedding)")
    return FinetuneResult(model_dir, log_path, plot, seconds, resume, log)


def parse_trainer_log(text: str, logging_steps: int = 2, start: int = 0) -> list[dict]:
    """The ``{'loss': ..., 'epoch': ...}`` lines a transformers Trainer prints, as rows with a step number."""
    rows = []
    for i, m in enumerate(_LOG_LINE.finditer(text), 1):
        d = {k: float(v) for k, v in re.findall(r"'(\w+)': '?([-\d.e+]+)'?", m.group(0))}
        rows.append({"step": start + i * logging_steps, **d})
    return rows


def _start_step(checkpoint: str | None) -> int:
    return int(str(checkpoint).rsplit("-", 1)[1]) if checkpoint else 0


# --------------------------------------------------------------------------- entry points


def finetune(samples_path: str | Path, base: str | Path, out: str | Path, backend: str = "st", **kw) -> FinetuneResult:
    """The ``ragcook finetune`` command's work: read JSONL samples, train with ``backend``."""
    samples = read_jsonl(samples_path)
    if backend == "st":
        return finetune_st(samples, out, base=base, **kw)
    if backend == "flag":
        return finetune_flag(samples_path, out, base=base, **kw)
    raise RagcookError(f"finetune: backend must be 'st' or 'flag', got {backend!r}")


def course_samples(
    n_queries: int = 600, n_neg: int = 0, ranks: tuple[int, int] = (5, 50), base: str | Path = DEFAULT_MODEL, seed: int = 13
) -> list[Sample]:
    """InsuranceQA *train* questions -> their answers (+ ``n_neg`` hard negatives): never test.

    Negatives are mined by ``base`` from the samples' own answers (~1,000 passages, not the 5,000
    of the train corpus), with passages cut to 128 tokens: the mining costs ~20 s on 2 cores.
    """
    from ragcook.negatives import mine_hard_negatives
    from ragcook.retrieve import Dense
    from ragcook.samples import insuranceqa_samples

    samples = insuranceqa_samples("train", n_neg=0, max_queries=n_queries, seed=seed)
    if n_neg <= 0:
        return samples
    dense = Dense(str(base), max_seq_length=128, show_progress=False)
    return mine_hard_negatives(samples, None, n=n_neg, ranks=ranks, seed=seed, dense=dense)


def ensure_finetuned(
    base: str | Path = DEFAULT_MODEL,
    n_queries: int = 600,
    max_steps: int = DEFAULTS["max_steps"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    max_seq_length: int = DEFAULTS["max_seq_length"],
    n_negatives: int = DEFAULTS["n_negatives"],
    seed: int = DEFAULTS["seed"],
) -> Path:
    """The course's fine-tuned model, from the cache, trained (ST backend) when missing.

    Cached under ``cache_dir()/finetuned/<base>-<hash of the settings>``; a half-finished run
    resumes from its checkpoint.
    """
    from ragcook.cache import cache_dir

    cfg = dict(base=str(base), n=n_queries, steps=max_steps, bs=batch_size, lr=lr, len=max_seq_length, neg=n_negatives, seed=seed)
    key = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]
    out = cache_dir() / "finetuned" / f"{Path(str(base)).name}-{key}"
    if (out / "modules.json").is_file():
        return out
    samples = course_samples(n_queries, n_neg=n_negatives, base=base, seed=seed)
    finetune_st(
        samples, out, base=base, max_steps=max_steps, batch_size=batch_size, lr=lr, n_negatives=n_negatives,
        max_seq_length=max_seq_length, seed=seed, save_steps=max(1, max_steps // 2),
    )
    return out


def stage_finetune(ctx) -> None:
    """``ragcook run`` stage: fine-tune the base model on InsuranceQA train questions, evaluate on test."""
    from ragcook import report

    test = ctx.extra.get("test")
    if test is None:
        from ragcook.data import load_insuranceqa

        test = load_insuranceqa("test", profile=ctx.profile)
        if ctx.quick:
            test = test.take(100)
    steps = 6 if ctx.quick else DEFAULTS["max_steps"]
    t0 = time.perf_counter()
    path = ensure_finetuned(ctx.model, max_steps=steps)
    seconds = time.perf_counter() - t0
    res = before_after(test, {"dense-finetuned": path}, bm25=False, max_seq_length=None)  # as the "dense" baseline
    ctx.results.update(res)
    log = read_log(path / "loss.jsonl")
    shutil.copy(path / "loss.png", ctx.out / "finetune_loss.png")
    rows = {k: ctx.results[k] for k in ("bm25", "dense", "dense-finetuned") if k in ctx.results}
    base_ndcg = rows.get("dense", {}).get("ndcg@10")
    gain = f" (base dense {base_ndcg:.4f}, change {res['dense-finetuned']['ndcg@10'] - base_ndcg:+.4f})" if base_ndcg else ""
    ctx.sections.append(
        "## Fine-tuned dense model\n\n"
        f"`{ctx.model}` fine-tuned with MultipleNegativesRankingLoss on InsuranceQA *train* questions "
        f"with {DEFAULTS['n_negatives']} mined hard negative each "
        f"({steps} steps, batch {DEFAULTS['batch_size']}, lr {DEFAULTS['lr']}, {len(log)} log rows; "
        f"{seconds:.0f} s including any cached reuse), evaluated on the held-out test questions: "
        f"nDCG@10 {res['dense-finetuned']['ndcg@10']:.4f}{gain}.\n\n"
        f"{report.format_table(report.results_frame(rows))}\n\n![fine-tuning loss](finetune_loss.png)\n"
    )


# --------------------------------------------------------------------------- LlamaIndex and LangChain


def to_llamaindex_dataset(ds):
    """A LlamaIndex ``EmbeddingQAFinetuneDataset`` (queries, corpus, relevant_docs) from a ragcook Dataset.

    What ``generate_qa_embedding_pairs`` would produce from an LLM, built from human questions instead.
    """
    from llama_index.finetuning import EmbeddingQAFinetuneDataset

    rel = {q: [d for d, g in ds.qrels.get(q, {}).items() if g > 0] for q in ds.queries}
    rel = {q: docs for q, docs in rel.items() if docs}
    return EmbeddingQAFinetuneDataset(
        queries={q: t for q, t in ds.queries.items() if q in rel}, corpus=dict(ds.corpus), relevant_docs=rel
    )


def llamaindex_hit_rate(dataset, model_path: str | Path, top_k: int = 10, query_instruction: str | None = None) -> float:
    """LlamaIndex's fine-tuning guide evaluation: share of queries whose relevant node is in the top ``top_k``.

    Indexes ``dataset.corpus`` in a ``VectorStoreIndex`` with a ``HuggingFaceEmbedding`` of ``model_path``.
    """
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    embed = HuggingFaceEmbedding(model_name=str(resolve(model_path)), query_instruction=query_instruction, normalize=True, embed_batch_size=64)
    nodes = [TextNode(id_=i, text=t) for i, t in dataset.corpus.items()]
    index = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
    retriever = index.as_retriever(similarity_top_k=top_k)
    hits = []
    for qid, query in dataset.queries.items():
        got = {n.node.node_id for n in retriever.retrieve(query)}
        hits.append(bool(got & set(dataset.relevant_docs[qid])))
    return sum(hits) / len(hits)


def langchain_retriever(model_path: str | Path, texts: dict[str, str], instruction: str = "", k: int = 10):
    """A LangChain FAISS retriever over ``texts`` (id -> text) with a (fine-tuned) Hugging Face model.

    ``HuggingFaceEmbeddings`` with normalised vectors and ``instruction`` prepended to queries only
    (the replacement for the deprecated ``HuggingFaceBgeEmbeddings``).
    """
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings

    emb = HuggingFaceEmbeddings(
        model_name=str(resolve(model_path)),
        encode_kwargs={"normalize_embeddings": True, "batch_size": 64},
        query_encode_kwargs={"normalize_embeddings": True, "prompt": instruction},
    )
    docs = [Document(page_content=t, metadata={"id": i}) for i, t in texts.items()]
    store = FAISS.from_documents(docs, emb, distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT)
    return store.as_retriever(search_kwargs={"k": k})

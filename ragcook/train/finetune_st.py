"""Fine-tuning with sentence-transformers: MultipleNegativesRankingLoss, checkpoints, a loss log.

``SentenceTransformerTrainer`` with MultipleNegativesRankingLoss (InfoNCE with in-batch
negatives, plus mined hard negatives when the samples have them) and the no-duplicates batch
sampler, so no batch holds the same text twice (a false negative). It writes checkpoints and
resumes from the last one after an interruption, logs every value as JSON lines
(``loss.jsonl``) and plots it (``loss.png``). The FlagEmbedding backend is
:mod:`ragcook.train.finetune_flag`; both share the logging helpers here.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ragcook.errors import RagcookError
from ragcook.io import append_jsonl, read_jsonl, write_jsonl
from ragcook.models import DEFAULT_MODEL, load_sentence_transformer
from ragcook.train.samples import Sample, to_st_dataset


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
    return read_jsonl(path, resumable=True) if Path(path).is_file() else []


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
            append_jsonl(log_path, [row])

    return JsonLinesLogger()


def last_checkpoint(folder: str | Path) -> str | None:
    """The newest complete ``checkpoint-N`` folder under ``folder``, or None.

    The trainer writes ``trainer_state.json`` last: a folder without it (a run killed while
    saving) is skipped, and training resumes from the checkpoint before.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    done = [p for p in folder.glob("checkpoint-*") if p.name[11:].isdigit() and _complete(p)]
    return str(max(done, key=lambda p: int(p.name[11:]))) if done else None


def _complete(checkpoint: Path) -> bool:
    try:
        return isinstance(json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def trim_log(log_path: str | Path, step: int) -> None:
    """Drop the log rows after ``step``: a run resumed from checkpoint ``step`` logs those steps again."""
    rows = read_log(log_path)
    if any(r.get("step", 0) > step for r in rows):
        write_jsonl(log_path, [r for r in rows if r.get("step", 0) <= step])


def _report_to() -> str:
    import importlib.util

    return "tensorboard" if importlib.util.find_spec("tensorboard") else "none"


# --------------------------------------------------------------------------- sentence-transformers backend


def run_dir(out: Path) -> tuple[Path, Path, str | None]:
    """A training run's checkpoint folder, its loss log and the checkpoint to resume from (or None).

    A fresh run starts a fresh log; a resumed one keeps the log's rows up to the checkpoint's step.
    """
    ckpt_dir = out / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    log_path = out / "loss.jsonl"
    resume = last_checkpoint(ckpt_dir)
    if not resume and log_path.exists():
        log_path.unlink()
    if resume:
        trim_log(log_path, int(Path(resume).name[11:]))
    return ckpt_dir, log_path, resume


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
    loss=None,
    prompts: dict[str, str] | None = None,
    freeze_word_embeddings: bool = False,
) -> FinetuneResult:
    """MultipleNegativesRankingLoss + the no-duplicates sampler; the model is saved to ``out``.

    Trains with ``max_seq_length`` (short, for speed) and saves the model with the base model's
    own length, so it is evaluated like the base. Checkpoints go to ``out/checkpoints`` every
    ``save_steps``; if one exists, training resumes from it. They are deleted once the model is
    saved unless ``keep_checkpoints``. ``loss`` is a function ``model -> loss module`` that replaces
    the plain MultipleNegativesRankingLoss (e.g. MatryoshkaLoss around it, :mod:`ragcook.train.matryoshka`).
    ``prompts`` maps a column (``anchor``, ``positive``) to the text sentence-transformers prepends to it
    (``{"anchor": instruction}``: a query instruction, as FlagEmbedding's ``query_instruction_for_retrieval``).
    ``freeze_word_embeddings`` keeps the vocabulary's embedding matrix as it is: for a multilingual model most
    of the weights (e5-small: 96M of 118M), rows that a few hundred questions barely touch, yet every step
    would compute their gradient and update them.
    """
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers, SentenceTransformerTrainingArguments

    if not samples:
        raise RagcookError("finetune: no samples to train on")
    out = Path(out)
    ckpt_dir, log_path, resume = run_dir(out)
    train = to_st_dataset(samples, n_negatives=n_negatives).shuffle(seed=seed)
    if len(train) == 0:
        raise RagcookError(f"finetune: no sample has {n_negatives} negatives; mine them or lower n_negatives")
    model = load_sentence_transformer(base)
    if freeze_word_embeddings:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
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
        prompts=prompts,
    )
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train,
        loss=loss(model) if loss else losses.MultipleNegativesRankingLoss(model),
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
    name = type(trainer.loss).__name__ if loss else "MNRL"
    plot = plot_log(log, out / "loss.png", metric=_eval_key(log), title=f"{Path(str(base)).name} fine-tuning ({name})")
    return FinetuneResult(out, log_path, plot, seconds, resume, log)


def _log_eval(log_path: Path, step: int, metrics: dict) -> None:
    append_jsonl(log_path, [{"step": step, **{f"eval_{k}": float(v) for k, v in metrics.items()}}])


def _eval_key(log: list[dict]) -> str | None:
    keys = [k for r in log for k in r if k.startswith("eval_") and k.endswith("ndcg@10")]
    return keys[0] if keys else None

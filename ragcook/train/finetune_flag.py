"""Fine-tuning with FlagEmbedding's own entry point, launched with ``torchrun`` as its docs do.

``python -m FlagEmbedding.finetune.embedder.encoder_only.base`` trains on the same JSONL
samples; on a CPU it needs ``--use_cpu True`` and no DeepSpeed or fp16. The pooling it trains
with is read from the base model's own configuration (mean for MiniLM, ``[CLS]`` for BGE), and
written beside the output as sentence-transformers modules, so the tuned model loads with the
pooling it was trained with.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ragcook.errors import RagcookError
from ragcook.io import write_jsonl
from ragcook.models import DEFAULT_MODEL, pooling_of, resolve, write_st_modules
from ragcook.train.finetune_st import FinetuneResult, _report_to, last_checkpoint, plot_log, read_log
from ragcook.train.samples import Sample, read_samples, write_samples


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
    pooling: str | None = None,
) -> list[str]:
    """The ``torchrun ... -m FlagEmbedding.finetune.embedder.encoder_only.base`` command line.

    ``pooling`` defaults to the base model's own (:func:`ragcook.models.pooling_of`): ``mean``
    for MiniLM, ``cls`` for BGE models. ``gpu=True`` shows what a GPU run changes: fp16,
    DeepSpeed (ZeRO stage 0 config) and ``--nproc_per_node`` = number of GPUs; the CPU run needs
    ``--use_cpu True`` and neither.
    """
    pooling = pooling or pooling_of(base, default="cls")
    torchrun = str(Path(sys.executable).with_name("torchrun"))
    cmd = [
        torchrun,
        "--nproc_per_node",
        str(nproc),
        "--master_port",
        str(29500 + os.getpid() % 500),
        "-m",
        "FlagEmbedding.finetune.embedder.encoder_only.base",
        "--model_name_or_path",
        str(resolve(base) if not gpu else base),
        "--train_data",
        str(train_data),
        "--output_dir",
        str(out),
        "--train_group_size",
        str(train_group_size),
        "--query_max_len",
        str(query_max_len),
        "--passage_max_len",
        str(passage_max_len),
        "--per_device_train_batch_size",
        str(batch_size),
        "--learning_rate",
        str(lr),
        "--max_steps",
        str(max_steps),
        "--warmup_steps",
        "0.1",
        "--temperature",
        str(temperature),
        "--sentence_pooling_method",
        pooling,
        "--normalize_embeddings",
        "True",
        "--logging_steps",
        "2",
        "--seed",
        str(seed),
        "--dataloader_drop_last",
        "True",
        "--report_to",
        _report_to(),
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
    data = Path(samples) if isinstance(samples, (str, Path)) else write_samples(samples, out / "train.jsonl")
    read_samples(data)  # fail early, naming the line, on a bad file
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
    write_jsonl(log_path, (rows[step] for step in sorted(rows)))
    write_st_modules(model_dir, cmd[cmd.index("--sentence_pooling_method") + 1])
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

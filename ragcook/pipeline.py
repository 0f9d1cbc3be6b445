"""The end-to-end job behind ``ragcook eval`` and ``ragcook run``.

``run_pipeline`` is a list of stages; each stage reads the shared context, adds results and
writes a section of the Markdown report. Later lessons add stages (fine-tuning, for one).
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ragcook import data as data_mod
from ragcook import report, retrieve
from ragcook.eval.finetune import before_after
from ragcook.eval.metrics import DEFAULT_METRICS, evaluate
from ragcook.eval.sparse import choose_fusion_weight
from ragcook.models import DEFAULT_MODEL
from ragcook.retrieve.registry import HYBRID_NORM, HYBRID_WEIGHT
from ragcook.train.finetune_st import read_log
from ragcook.types import Run


def retrieve_runs(
    ds: data_mod.Dataset,
    names: list[str],
    model: str = DEFAULT_MODEL,
    k: int = 100,
    hybrid_weight: float = HYBRID_WEIGHT,
    hybrid_norm: str = HYBRID_NORM,
) -> dict[str, Run]:
    """Index the corpus once per base retriever and return name -> run.

    ``hybrid`` fuses the BM25 and dense runs (scores normalised by ``hybrid_norm``,
    ``hybrid_weight`` on dense and ``1 - hybrid_weight`` on BM25) rather than searching twice.
    """
    lang = data_mod.lang_of(ds)
    runs: dict[str, Run] = {}
    base = [n for n in names if n != "hybrid"]
    if "hybrid" in names:
        base = ["bm25", "dense", *base]
    for name in dict.fromkeys(base):
        runs[name] = retrieve.make(name, model=model, lang=lang).index(ds.corpus).search(ds.queries, k=k)
    if "hybrid" in names:
        fused = retrieve.fuse([runs["bm25"], runs["dense"]], [1 - hybrid_weight, hybrid_weight], hybrid_norm)
        runs["hybrid"] = retrieve.top_k(fused, k)
    return {n: runs[n] for n in names}


def evaluate_retrievers(
    ds: data_mod.Dataset,
    names: list[str],
    model: str = DEFAULT_MODEL,
    k: int = 100,
    hybrid_weight: float = HYBRID_WEIGHT,
    metrics=DEFAULT_METRICS,
    hybrid_norm: str = HYBRID_NORM,
) -> dict[str, dict[str, float]]:
    """retriever name -> metric -> mean value on ``ds``."""
    runs = retrieve_runs(ds, names, model=model, k=k, hybrid_weight=hybrid_weight, hybrid_norm=hybrid_norm)
    return {name: evaluate(ds.qrels, run, metrics) for name, run in runs.items()}


def tune_hybrid_weight(
    ds: data_mod.Dataset, model: str = DEFAULT_MODEL, grid=None, metric: str = "ndcg@10", norm: str = HYBRID_NORM
) -> tuple[float, dict[float, float]]:
    """Pick the dense weight of the BM25 + dense fusion (scores normalised by ``norm``) on a (validation) dataset.

    Returns the best weight and the metric for every weight tried.
    """
    runs = retrieve_runs(ds, ["bm25", "dense"], model=model)
    best, curve = choose_fusion_weight(ds.qrels, runs["bm25"], runs["dense"], grid, norm=norm, metric=metric)
    return best, dict(zip(curve["weight"].tolist(), curve[metric].tolist()))


# --------------------------------------------------------------------------- ragcook run


@dataclass
class Context:
    out: Path
    model: str
    profile: str
    quick: bool
    results: dict[str, dict[str, float]] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def stage_baselines(ctx: Context) -> None:
    """BM25, dense and hybrid on InsuranceQA test; the hybrid weight is tuned on valid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    valid = data_mod.load_insuranceqa("valid", profile=ctx.profile)
    if ctx.quick:
        valid = valid.take(100)
    weight, curve = tune_hybrid_weight(valid, model=ctx.model)
    test = data_mod.load_insuranceqa("test", profile=ctx.profile)
    if ctx.quick:
        test = test.take(100)
    ctx.extra["test"] = test
    names = ["bm25", "dense", "hybrid"]
    res = evaluate_retrievers(test, names, model=ctx.model, hybrid_weight=weight)
    ctx.results.update(res)

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(list(curve), list(curve.values()), marker="o")
    ax.axvline(weight, ls="--", c="grey")
    ax.set_xlabel("weight of dense in the fusion (0 = BM25 only, 1 = dense only)")
    ax.set_ylabel("nDCG@10 on valid")
    ax.set_title("Choosing the hybrid weight on the validation split", fontsize=10)
    fig.tight_layout()
    fig.savefig(ctx.out / "hybrid_weight.png", dpi=120)
    plt.close(fig)

    df = report.results_frame(res)
    ctx.sections.append(
        "## Baselines on InsuranceQA test\n\n"
        f"{test!r}; base model `{ctx.model}`. Hybrid = score fusion of BM25 and dense ({HYBRID_NORM}-normalised), "
        f"dense weight {weight:.1f} chosen on {len(valid.queries)} validation queries "
        f"(valid nDCG@10 {curve[weight]:.4f}; BM25 alone {curve[0.0]:.4f}, dense alone {curve[1.0]:.4f}).\n\n"
        f"{report.format_table(df)}\n\n![hybrid weight](hybrid_weight.png)\n"
    )


def stage_finetune(ctx: Context) -> None:
    """``ragcook run`` stage: fine-tune with the recipe that won on the *validation* split (notebook 11),
    then evaluate on the held-out test questions."""
    from dataclasses import replace

    from ragcook.eval import recipe as experiments

    test = ctx.extra.get("test")
    if test is None:
        test = data_mod.load_insuranceqa("test", profile=ctx.profile)
        if ctx.quick:
            test = test.take(100)
    label, recipe, valid_ndcg = experiments.winner()
    recipe = replace(recipe, base=ctx.model, steps=6 if ctx.quick else recipe.steps)
    t0 = time.perf_counter()
    path = experiments.train(recipe)
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
        f"The recipe that won on the validation split in notebook 11: **{label}** "
        f"(questions `{recipe.questions}`, negatives `{recipe.negatives}`; valid nDCG@10 {valid_ndcg:.4f}). "
        f"`{ctx.model}` fine-tuned with MultipleNegativesRankingLoss ({recipe.steps} steps, batch {recipe.batch_size}, "
        f"lr {recipe.lr}, {len(log)} log rows; {seconds:.0f} s including any cached reuse), evaluated on the held-out "
        f"test questions: nDCG@10 {res['dense-finetuned']['ndcg@10']:.4f}{gain}.\n\n"
        f"{report.format_table(report.results_frame(rows))}\n\n![fine-tuning loss](finetune_loss.png)\n"
    )


#: Stages of ``ragcook run``, in order.
STAGES: list[Callable[[Context], None]] = [stage_baselines, stage_finetune]


def run_pipeline(
    out: str | Path = "ragcook-report", model: str = DEFAULT_MODEL, profile: str = "small", quick: bool = False
) -> Path:
    """Run every stage and write ``report.md``, ``results.{json,csv,png}`` and the plots into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(out=out, model=model, profile=profile, quick=quick)
    t0 = time.perf_counter()
    for stage in STAGES:
        t = time.perf_counter()
        stage(ctx)
        ctx.timings[stage.__name__] = time.perf_counter() - t
    total = time.perf_counter() - t0
    df = report.results_frame(ctx.results)
    report.write_results(df, out, meta={"model": model, "profile": profile}, title="InsuranceQA test")
    timing = "\n".join(f"| {k} | {v:.1f} |" for k, v in ctx.timings.items())
    text = (
        "# ragcook report\n\n"
        f"Machine: {platform.machine()}, {platform.processor() or platform.system()}; "
        f"Python {platform.python_version()}; profile `{profile}`{' (quick)' if quick else ''}.\n\n"
        + "\n".join(ctx.sections)
        + "\n## All results\n\n"
        + report.format_table(df)
        + "\n\n![results](results.png)\n\n## Time per stage (seconds)\n\n| stage | s |\n|---|---:|\n"
        + timing
        + f"\n| total | {total:.1f} |\n"
    )
    (out / "report.md").write_text(text, encoding="utf-8")
    (out / "timings.json").write_text(json.dumps(ctx.timings, indent=2), encoding="utf-8")
    return out / "report.md"

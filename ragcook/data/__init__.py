"""Datasets: one :class:`Dataset` shape, loaded from InsuranceQA, a BEIR folder, or built here.

``load(spec)`` takes ``insuranceqa``, ``insuranceqa:zh`` or a BEIR folder path.
"""

from __future__ import annotations

from pathlib import Path

from ragcook.data.beir import load_beir, save_beir
from ragcook.data.dataset import SEED, Dataset, detect_lang, lang_of, validate
from ragcook.data.insuranceqa import PROFILES, SPLITS, load_insuranceqa
from ragcook.errors import DataError

__all__ = [
    "Dataset", "PROFILES", "SEED", "SPLITS", "detect_lang", "lang_of", "load", "load_beir", "load_insuranceqa",
    "save_beir", "validate",
]  # fmt: skip


def load(spec: str, split: str = "test", profile: str = "small", seed: int = SEED, lang: str | None = None) -> Dataset:
    """Load ``insuranceqa``, ``insuranceqa:zh`` or a BEIR folder path (``lang`` overrides detection)."""
    if spec in ("insuranceqa", "insuranceqa:en"):
        return load_insuranceqa(split, "en", profile, seed)
    if spec == "insuranceqa:zh":
        return load_insuranceqa(split, "zh", profile, seed)
    if Path(spec).exists():
        return load_beir(spec, split, lang=lang)
    raise DataError(f"{spec}: no such dataset; use 'insuranceqa', 'insuranceqa:zh' or a BEIR folder path")

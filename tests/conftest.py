"""Test set-up: never reach a hub; keep caches inside the checkout unless told otherwise."""

import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("RAGCOOK_CACHE", str(Path(__file__).resolve().parents[1] / ".cache" / "ragcook"))
os.environ.setdefault("TQDM_DISABLE", "1")

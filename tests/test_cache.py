"""The cache's naming rule for trained models, and its build lock."""

import threading
import time

from ragcook import cache


def test_trained_dir_changes_with_every_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    a = cache.trained_dir("finetuned", "/models/minilm", {"lr": 1e-4, "steps": 10})
    assert a.parent == tmp_path / "finetuned" and a.name.startswith("minilm-")
    assert a == cache.trained_dir("finetuned", "minilm", {"steps": 10, "lr": 1e-4})  # key order does not matter
    assert a != cache.trained_dir("finetuned", "minilm", {"lr": 1e-4, "steps": 11})
    tagged = cache.trained_dir("finetuned", "minilm", {"lr": 1e-4, "steps": 10}, tag="st")
    assert tagged.name.startswith("minilm-st-") and tagged.name[-10:] != a.name[-10:]


def test_a_second_builder_waits_and_finds_the_first_ones_result(tmp_path):
    target, events = tmp_path / "model", []

    def build(name: str) -> None:
        def make() -> None:
            events.append(f"{name} builds")
            time.sleep(0.3)
            target.mkdir()
            (target / "done").write_text("x")

        cache.build_once(target, lambda: (target / "done").is_file(), make)  # the check-lock-check of every ensure_*
        if f"{name} builds" not in events:
            events.append(f"{name} found it")

    first = threading.Thread(target=build, args=("first",))
    first.start()
    time.sleep(0.05)
    second = threading.Thread(target=build, args=("second",))
    second.start()
    first.join()
    second.join()
    assert events == ["first builds", "second found it"]

"""bench/run.py: a run of some benchmarks updates their entries in results.json and keeps the others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import run as bench_run


def test_partial_run_keeps_other_benchmarks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bench_fast.py").write_text("")
    (tmp_path / "bench_slow.py").write_text("")
    previous = {
        "benchmarks": {"bench_slow": {"ok": True, "ratio": 3}, "bench_fast": {"ok": True, "ratio": 1}}
    }
    (tmp_path / "results.json").write_text(json.dumps(previous))
    monkeypatch.setattr(bench_run, "BENCH_DIR", tmp_path)
    monkeypatch.setattr(bench_run, "run_one", lambda name: {"ok": True, "ratio": 2})
    assert bench_run.main(["fast"]) == 0
    written = json.loads((tmp_path / "results.json").read_text())["benchmarks"]
    assert written["bench_slow"] == {"ok": True, "ratio": 3}
    assert written["bench_fast"]["ratio"] == 2 and "measured_at" in written["bench_fast"]


def test_unreadable_previous_results_are_replaced(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{not json")
    assert bench_run._read_previous(tmp_path / "results.json") is None
    merged = bench_run.merge_results(None, {"bench_a": {"ok": False}})
    assert list(merged["benchmarks"]) == ["bench_a"] and "created_at" in merged

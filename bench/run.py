"""`make bench`: run every bench/bench_*.py module in one process run and write bench/results.json."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent


def bench_modules(selected: list[str]) -> list[str]:
    names = sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))
    return [name for name in names if not selected or name.removeprefix("bench_") in selected]


def run_one(name: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        figures = importlib.import_module(f"bench.{name}").run()
        return {"ok": True, "seconds": round(time.perf_counter() - started, 2), **figures}
    except Exception:
        return {"ok": False, "error": traceback.format_exc()}


def main(argv: list[str]) -> int:
    results: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "benchmarks": {},
    }
    for name in bench_modules(argv):
        print(f"== {name}", flush=True)
        results["benchmarks"][name] = run_one(name)
        print(json.dumps(results["benchmarks"][name], indent=2), flush=True)
    (BENCH_DIR / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {BENCH_DIR / 'results.json'}")
    return 0 if all(r["ok"] for r in results["benchmarks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make bench`: run every bench/bench_*.py module (or the ones named: `python -m bench.run export parse`)
and write their entries into bench/results.json, keeping the entries of benchmarks not run this time."""

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


def merge_results(previous: dict[str, Any] | None, ran: dict[str, Any]) -> dict[str, Any]:
    """`ran` over the entries of a previous results.json: a run of some benchmarks keeps the others'."""
    benchmarks = dict((previous or {}).get("benchmarks") or {})
    benchmarks.update(ran)
    return {
        "created_at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "benchmarks": dict(sorted(benchmarks.items())),
    }


def _read_previous(path: Path) -> dict[str, Any] | None:
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return previous if isinstance(previous, dict) else None


def main(argv: list[str]) -> int:
    ran: dict[str, Any] = {}
    for name in bench_modules(argv):
        print(f"== {name}", flush=True)
        ran[name] = {"measured_at": datetime.now(UTC).isoformat(), **run_one(name)}
        print(json.dumps(ran[name], indent=2), flush=True)
    path = BENCH_DIR / "results.json"
    path.write_text(json.dumps(merge_results(_read_previous(path), ran), indent=2) + "\n")
    print(f"wrote {path} ({', '.join(ran) or 'nothing'} updated)")
    return 0 if all(r["ok"] for r in ran.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

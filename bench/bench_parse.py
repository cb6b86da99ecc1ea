"""DAG parse time for pipelines files of 1, 10 and 50 pipelines (target < 1 s per DAG file beyond Airflow's import).

Each pipelines file has N ingest pipelines (one with polling, so events DAGs are built too) and N `projects:`
entries with agents and an export, so every file in dags/ builds DAGs. For each N, a fresh Python process
(fresh AIRFLOW_HOME, ENCORD_PIPELINES_FILE pointing at the file) times `import airflow` + DagBag's own
imports, then `DagBag(dags/)`; a baseline process does the same for a folder of one minimal DAG file
(airflow.sdk DAG + EmptyOperator), which prices Airflow's per-file cost.

`per_file_s` = (our DagBag seconds) / (DAG files); `beyond_baseline_per_file_s` subtracts the minimal file's
DagBag seconds. Both are measured after the imports, so "beyond Airflow's import" is what remains.
`python -m bench.bench_parse` prints the figures; `--child <dags folder>` is the measured process.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = ROOT / "dags"
SIZES = (1, 10, 50)
REPETITIONS = int(os.environ.get("BENCH_PARSE_REPETITIONS", "3"))
TARGET_SECONDS_PER_FILE = 1.0
MINIMAL_DAG = '''"""A minimal airflow DAG (baseline of the parse benchmark)."""
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("baseline", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
    EmptyOperator(task_id="noop")
'''


def pipelines(count: int) -> dict[str, Any]:
    """`count` ingest pipelines and `count` projects (agents + export), like a real pipelines file."""
    ingest = [
        {"name": f"bucket_{i:03d}", "source": {"cloud": "s3", "bucket": f"media-{i}", "prefix": "incoming/",
                                                "conn_id": "aws_default", "filters": {"exclude": ["**/_tmp/**"]}},
         "integration": {"title": f"integration-{i}"}, "folder": {"name": f"Folder {i}"},
         "datasets": [{"title": f"Dataset {i}"}], "schedule": "0 2 * * *",
         "chunking": {"max_entries": 1000, "per_type": {"video": 100}},
         "staging": {"uri": f"s3://staging-{i}/encord", "conn_id": "aws_default"},
         **({"trigger": {"mode": "polling", "poll_interval_seconds": 300}} if i == 0 else {})}
        for i in range(count)
    ]  # fmt: skip
    projects = [
        {"name": f"project_{i:03d}", "project_hash": f"00000000-0000-0000-0000-{i:012d}",
         "triggered_by_ingest": f"bucket_{i:03d}",
         "agents": [{"stage": "Pre-classify", "agent": "agents.pre_classify:runner"},
                    {"stage": "Pre-label", "agent": "agents.pre_label:pre_label"}],
         "export": {"uri": f"s3://warehouse-{i}/labels", "conn_id": "aws_default", "schedule": "0 4 * * *"}}
        for i in range(count)
    ]  # fmt: skip
    return {"pipelines": ingest, "projects": projects}


def _child(dags_folder: str) -> dict[str, Any]:
    started = time.perf_counter()
    import airflow  # noqa: F401
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DAG  # noqa: F401

    imported = time.perf_counter()
    bag = DagBag(dag_folder=dags_folder)
    parsed = time.perf_counter()
    return {
        "import_s": round(imported - started, 3),
        "dagbag_s": round(parsed - imported, 3),
        "files": len(bag.dagbag_stats),
        "dags": len(bag.dags),
        "import_errors": {str(k): str(v)[-500:] for k, v in bag.import_errors.items()},
    }


def _measure(dags_folder: Path, pipelines_file: Path | None, home: Path) -> dict[str, Any]:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins")}  # fmt: skip
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    if pipelines_file is not None:
        env["ENCORD_PIPELINES_FILE"] = str(pipelines_file)
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_parse", "--child", str(dags_folder)],
        capture_output=True, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"parse child failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    if result["import_errors"]:
        raise RuntimeError(f"DAG import errors: {result['import_errors']}")
    return result


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        work = Path(tmp)
        baseline_dags = work / "baseline_dags"
        baseline_dags.mkdir()
        (baseline_dags / "baseline_dag.py").write_text(MINIMAL_DAG)
        files: dict[int, Path] = {}
        for count in SIZES:
            files[count] = work / f"pipelines_{count}.yaml"
            files[count].write_text(yaml.safe_dump(pipelines(count)))
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], **{str(n): [] for n in SIZES}}
        for rep in range(REPETITIONS):  # interleaved, each in a fresh process and AIRFLOW_HOME
            runs["baseline"].append(_measure(baseline_dags, None, work / f"home-b{rep}"))
            for count in SIZES:
                runs[str(count)].append(_measure(DAGS_FOLDER, files[count], work / f"home-{count}-{rep}"))
    baseline_file_s = _median(runs["baseline"], "dagbag_s")
    figures: dict[str, Any] = {
        "repetitions": REPETITIONS,
        "target_s_per_file": TARGET_SECONDS_PER_FILE,
        "airflow_import_s": _median(runs["baseline"], "import_s"),
        "baseline_minimal_dag_file_s": baseline_file_s,
    }
    for count in SIZES:
        mine = runs[str(count)]
        per_file = _median(mine, "dagbag_s") / mine[0]["files"]
        figures[f"pipelines_{count}"] = {
            "dag_files": mine[0]["files"],
            "dags": mine[0]["dags"],
            "import_s": _median(mine, "import_s"),
            "dagbag_s": _median(mine, "dagbag_s"),
            "per_file_s": round(per_file, 3),
            "beyond_baseline_per_file_s": round(per_file - baseline_file_s, 3),
            "target_met": per_file < TARGET_SECONDS_PER_FILE,
        }
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2])))
    else:
        print(json.dumps(run(), indent=2))

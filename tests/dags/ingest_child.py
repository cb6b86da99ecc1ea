"""Run one ingest DAG with `dag.test()` in a process of its own (own AIRFLOW_HOME and SQLite file), as a
second scheduler or a second deployment would: for the tests that need two runs of a pipeline at once.

    python -m tests.dags.ingest_child <dag_id> <out.json>

Connections and ENCORD_PIPELINES_FILE come from the environment of the parent test. Writes the run's state,
its task states and the prepare / finalize XComs to <out.json>.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(dag_id: str, out: str) -> int:
    sys.path[:0] = [str(ROOT / "dags"), str(ROOT)]  # as pytest's `pythonpath` setting does
    home = tempfile.mkdtemp(prefix="airflow-child-home-")
    os.environ.update(
        {
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        }
    )
    os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    try:
        from airflow.utils import db

        db.initdb()
        from tests.dags.test_ingest_support import run_dag, task_states, xcom

        dag_run = run_dag(dag_id)
        result = {
            "state": str(dag_run.state),
            "tasks": {f"{task}[{index}]": state for (task, index), state in task_states(dag_run).items()},
            "prepare": xcom(dag_run, "prepare"),
            "finalize": xcom(dag_run, "finalize"),
        }
        Path(out).write_text(json.dumps(result, default=str), encoding="utf-8")
        return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

"""A missed deadline fires its callback under a real scheduler and triggerer (not dag.test(), which has no
scheduler loop to notice a miss): `airflow dag-processor`, `scheduler` and `triggerer` processes on a fresh
SQLite AIRFLOW_HOME. The DAG's alert is built by `encord_provider.deadlines` from a `deadline:` config, as
the pipelines' DAGs build theirs; its only task waits in a pool with no slots (an EmptyOperator would be
marked done without running), so the run cannot finish in time. Slow (about a minute): marked `slow`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = Path(sys.executable).parent / "airflow"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DAG_FILE = """
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from encord_provider.config.run_controls import DeadlineConfig
from encord_provider.deadlines import build_deadline_alert

config = DeadlineConfig.model_validate({{"after": "3s", "callback": "tests.deadline_probe.record_missed_deadline",
                                        "callback_kwargs": {{"marker": {marker!r}}}}})
with DAG("deadline_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
         deadline=build_deadline_alert(config, "probe", "deadline_probe")):
    BashOperator(task_id="held", bash_command="true", pool="closed")
"""


@pytest.fixture
def airflow_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "dags").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })  # fmt: skip
    return env


def _airflow(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture
def components(airflow_env: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    _airflow(airflow_env, "db", "migrate")
    _airflow(airflow_env, "pools", "set", "closed", "0", "no slots: the run cannot finish")
    procs = []
    for name, args in (("dag-processor", []), ("scheduler", ["--skip-serve-logs"]),
                       ("triggerer", ["--skip-serve-logs"])):  # fmt: skip
        log = (tmp_path / f"{name}.log").open("wb")
        procs.append(subprocess.Popen([str(AIRFLOW), name, *args], env=airflow_env, stdout=log, stderr=log))
    yield procs
    for proc in procs:  # by PID, the processes this fixture started
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_for(what: str, check: Any, procs: list[subprocess.Popen[bytes]], timeout: float) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert all(p.poll() is None for p in procs), f"an Airflow component exited while waiting for {what}"
        found = check()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_missed_deadline_fires_the_callback_in_the_triggerer(
    airflow_env: dict[str, str], components: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    marker = tmp_path / "missed.json"
    (tmp_path / "dags" / "deadline_probe.py").write_text(DAG_FILE.format(marker=str(marker)))

    def parsed() -> (
        bool
    ):  # serialised with its deadline alert by the dag-processor (no CLI start-up per poll)
        with sqlite3.connect(Path(airflow_env["AIRFLOW_HOME"]) / "airflow.db", timeout=30) as db:
            return bool(db.execute("SELECT 1 FROM deadline_alert").fetchall())

    _wait_for("the DAG to be parsed", parsed, components, 240)
    _airflow(airflow_env, "dags", "trigger", "deadline_probe", "--run-id", "probe_run")
    fired = json.loads(_wait_for("the deadline callback", lambda: marker.exists() and marker.read_text(),
                                 components, 240))  # fmt: skip
    assert fired["message"].startswith(
        "pipeline 'probe': run probe_run of deadline_probe was not finished by "
    )
    assert fired["context"]["dag_run"]["state"] == "running"  # missed while the run was still going
    assert "DEADLINE MISSED: pipeline 'probe': run probe_run" in (tmp_path / "triggerer.log").read_text()

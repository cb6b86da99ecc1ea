"""`make airflow`: the demo pipelines in a real Airflow UI on 127.0.0.1 (`airflow standalone`).

Starts moto (S3) and the Encord emulator with the demo seed (an AWS integration, the demo dataset and a
workflow project with two agent stages), puts the demo media into s3://demo-media/incoming/, stores the
connections `aws_demo` and `encord_demo` in a fresh AIRFLOW_HOME (.demo/airflow), runs `airflow standalone`
there and prints the URL and the admin password. Ctrl-C (SIGINT) or SIGTERM stops everything it started,
by PID, including LocalExecutor workers that standalone leaves behind.

The demo pipeline runs when you trigger it (its nightly schedule is off here) and the agent DAG follows each
ingest run through its Asset. The scheduler and the triggerer would also serve their logs on every network
interface (ports 8793/8794, host hard-coded in Airflow); on one machine the api-server reads the log files
directly, so a small `airflow` shim first on standalone's PATH starts them with `--skip-serve-logs`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MARKER = ".made-by-make-airflow"
PIPELINE = "demo_s3"
DATASET_TITLE = "Demo dataset"
# Upload jobs finish within a second in the emulator; a trigger that fires that fast gets its task killed
# by Airflow 3.3 (apache/airflow#71580), so the demo polls less eagerly than the tests.
UPLOAD_POLL_SECONDS = 3.0
SHIM = """#!/bin/sh
# make airflow: scheduler and triggerer without their log servers (they bind every interface).
case "$1" in scheduler|triggerer) exec "{airflow}" "$@" --skip-serve-logs ;; esac
exec "{airflow}" "$@"
"""


def _fresh_home(home: Path) -> Path:
    """An empty AIRFLOW_HOME; only a folder this script made earlier is ever deleted."""
    if home.exists():
        if not (home / MARKER).exists():
            raise SystemExit(f"{home} exists and was not made by `make airflow`; pass --home elsewhere")
        shutil.rmtree(home)
    (home / "bin").mkdir(parents=True)
    (home / MARKER).write_text("")
    shim = home / "bin" / "airflow"
    shim.write_text(SHIM.format(airflow=BIN / "airflow"))
    shim.chmod(0o755)
    return home


def _seed(moto_url: str, dataset_hash: str, project_hash: str) -> dict[str, Any]:
    from demo.label_loop import ONTOLOGY, WORKFLOW

    return {
        "integrations": [{"title": "demo-aws", "provider": "aws", "endpoint_url": moto_url}],
        "datasets": [{"title": DATASET_TITLE, "dataset_hash": dataset_hash}],
        "ontologies": [ONTOLOGY],
        "projects": [{"title": "Demo labelling", "project_hash": project_hash, "ontology": ONTOLOGY["title"],
                      "datasets": [dataset_hash], "workflow": WORKFLOW}],
    }  # fmt: skip


def _pipelines_file(home: Path, project_hash: str) -> Path:
    """include/pipelines.yaml with the demo project added, the ingest schedule off and a calmer poll."""
    from demo.label_loop import demo_project

    config = yaml.safe_load((ROOT / "include" / "pipelines.yaml").read_text())
    for pipeline in config["pipelines"]:
        if pipeline["name"] == PIPELINE:
            pipeline["schedule"] = None
            pipeline["upload_poll_seconds"] = UPLOAD_POLL_SECONDS
    project = demo_project(project_hash)
    project["triggered_by_ingest"] = PIPELINE
    project["export"]["schedule"] = None
    config["projects"] = [project]
    path = home / "pipelines.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _environment(home: Path, port: int, pipelines: Path, parallelism: int) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    return {
        **os.environ,
        "PATH": f"{home / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
        "ENCORD_PIPELINES_FILE": str(pipelines),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), os.environ.get("PYTHONPATH", "")]).rstrip(":"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _store_connections(env: dict[str, str], home: Path, moto_url: str, encord_conn: str) -> None:
    """`airflow db migrate` + `airflow connections import`: the connections show up in the UI."""
    conns = {
        "aws_demo": {"conn_type": "aws", "login": "testing", "password": "testing",
                     "extra": {"region_name": "us-east-1", "endpoint_url": moto_url}},
        "encord_demo": json.loads(encord_conn),
    }  # fmt: skip
    path = home / "connections.json"
    path.write_text(json.dumps(conns))
    path.chmod(0o600)
    try:
        for command in (["db", "migrate"], ["connections", "import", str(path)]):
            subprocess.run([str(BIN / "airflow"), *command], env=env, check=True, capture_output=True)
    finally:
        path.unlink()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], home: Path, timeout: float = 120.0) -> str:
    """Wait until every component reports healthy; returns the generated admin password."""
    deadline = time.monotonic() + timeout
    password_file = home / "simple_auth_manager_passwords.json.generated"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"airflow standalone exited with {proc.returncode}; see {home / 'standalone.log'}"
            )
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as response:
                health = json.loads(response.read())
            if password_file.exists() and all(
                (part or {}).get("status") == "healthy"
                for part in (
                    health.get(n) for n in ("metadatabase", "scheduler", "triggerer", "dag_processor")
                )
            ):
                return str(json.loads(password_file.read_text())["admin"])
        except (OSError, ValueError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"Airflow did not become healthy within {timeout:.0f}s; see {home / 'standalone.log'}")


def stop_standalone(proc: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGINT (standalone stops its components only on KeyboardInterrupt), then kill leftovers by PID."""
    import psutil

    if proc.poll() is not None:
        return
    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    family = [p for p in family if p.is_running()]
    for leftover in family:  # e.g. an idle LocalExecutor worker blocked in a pipe read
        leftover.terminate()
    _, alive = psutil.wait_procs(family, timeout=5)
    for leftover in alive:
        leftover.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_UI_PORT", "8080")))
    parser.add_argument("--home", type=Path, default=ROOT / ".demo" / "airflow")
    parser.add_argument("--parallelism", type=int, default=4)
    args = parser.parse_args(argv)

    from encord_emulator.testing import EmulatorProcess

    from demo.run_demo import fill_bucket
    from tests.services import MotoServer

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        os.environ.setdefault(name, value)  # moto accepts any key
    home = _fresh_home(args.home.resolve())
    # Explicit handlers: a job started in the background of a script inherits SIGINT ignored, and then
    # neither this script nor standalone (which stops only on KeyboardInterrupt) would ever stop on it.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops everything the way Ctrl-C does
    dataset_hash, project_hash = str(uuid.uuid4()), str(uuid.uuid4())
    moto = MotoServer()
    emulator: EmulatorProcess | None = None
    standalone: subprocess.Popen[bytes] | None = None
    try:
        moto.start()
        seed = _seed(moto.url, dataset_hash, project_hash)
        emulator = EmulatorProcess(data_dir=home / "encord-emulator", seed=seed).start()
        print(f"moto S3 at {moto.url}; Encord emulator at {emulator.url}", flush=True)
        print(f"uploaded {fill_bucket(moto.url, extra_buckets=('demo-warehouse',))} objects to "
              "s3://demo-media/incoming/", flush=True)  # fmt: skip
        env = _environment(home, args.port, _pipelines_file(home, project_hash), args.parallelism)
        _store_connections(env, home, moto.url, emulator.airflow_connection())
        url = f"http://127.0.0.1:{args.port}"
        with open(home / "standalone.log", "ab") as log:
            standalone = subprocess.Popen(
                [str(home / "bin" / "airflow"), "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches this script only; it stops standalone in order
            )  # fmt: skip
        password = _wait_ready(url, standalone, home)
        print(f"\nAirflow is up: {url}\n  user: admin\n  password: {password}\n  (standalone pid "
              f"{standalone.pid}; logs {home / 'standalone.log'}; Ctrl-C stops everything)", flush=True)  # fmt: skip
        standalone.wait()
        print(f"airflow standalone exited with {standalone.returncode}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping Airflow, the emulator and moto ...", flush=True)
        if standalone is not None:
            stop_standalone(standalone)
        if emulator is not None:
            emulator.stop()
        moto.stop()
        print("stopped", flush=True)


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()

"""Exactly once at scale: about 2,000 mixed objects, 10% of Encord requests answered 429 or 5xx, and each
disruption of issue 9. For every scenario: objects in, registered, rejected, registered twice, lost
(`tests/ingest_invariants.check_exactly_once` over the bucket, the folder, the datasets and the ledger).

Scenarios: a clean run; a kill right after a job start (the job slower than the retry delay); lost
job-start responses; two runs at once (two processes, each its own Airflow DB); the folder deleted between
runs; the dataset deleted and one added between runs; objects overwritten and deleted between runs.

Run: `python -m bench.bench_exactly_once` (prints the table and JSON; `make bench` runs it too).
BENCH_EO_OBJECTS (default 2000) sets the bucket size; BENCH_EO_SCENARIOS a comma list to run a subset.
Targets: registered twice = 0 and lost = 0 in every scenario.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OBJECTS = int(os.environ.get("BENCH_EO_OBJECTS", "2000"))
FAULT_RATE = 0.10
INTEGRATION = "bench-aws"
DAG_ID = "encord_ingest__bench"


def _environment() -> Path:
    home = Path(tempfile.mkdtemp(prefix="bench-eo-airflow-"))
    os.environ.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    })  # fmt: skip
    os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    for path in (ROOT / "dags", ROOT):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return home


def mixed_objects(count: int) -> Iterator[tuple[str, bytes]]:
    """About `count` objects: 85% images, 5% PDFs, 5% text, 2% videos, DICOM series, 1% unsupported."""
    from demo.media import dicom_series, image_bytes, mp4_bytes, pdf_bytes

    pdf, video, slices = pdf_bytes(), mp4_bytes(), dicom_series()
    for i in range(count):
        bucket = i % 100
        if bucket < 85:
            yield f"in/images/{i // 200:02d}/img_{i:05d}.jpg", image_bytes(8, 8, (i % 251, (i * 7) % 251, 40))
        elif bucket < 90:
            yield f"in/docs/doc_{i:05d}.pdf", pdf
        elif bucket < 95:
            yield f"in/text/note_{i:05d}.txt", f"note {i}".encode()
        elif bucket < 97:
            yield f"in/video/clip_{i:05d}.mp4", video
        elif bucket < 99:
            for index, data in enumerate(slices):
                yield f"in/ct/series_{i:05d}/s_{index}.dcm", data
        else:
            yield f"in/other/blob_{i:05d}.zip", b"PK\x03\x04"


FAULTS = {"seed": 11, "rules": [
    {"pattern": "^(GET|POST|PATCH) /v2/public/", "error_rate": FAULT_RATE / 2, "status": 429, "retry_after": 0},
    {"pattern": "^(GET|POST|PATCH) /v2/public/", "error_rate": FAULT_RATE / 2, "status": 503},
    {"pattern": "^RPC ", "error_rate": FAULT_RATE / 2, "status": 429, "retry_after": 0},
    {"pattern": "^RPC ", "error_rate": FAULT_RATE / 2, "status": 502},
]}  # fmt: skip


class Bench:
    """Moto, the emulator and an Airflow DB for every scenario; each scenario gets its own buckets."""

    def __init__(self) -> None:
        from encord_emulator.testing import EmulatorProcess

        from tests.services import MotoServer

        self.home = _environment()
        self.moto = MotoServer()
        self.moto.start()
        self.emulator = EmulatorProcess(
            seed={"integrations": [{"title": INTEGRATION, "provider": "aws", "endpoint_url": self.moto.url}]}
        )
        self.emulator.start()
        os.environ["AIRFLOW_CONN_AWS_TEST"] = json.dumps({"conn_type": "aws", "login": "testing", "password": "testing",
                                                          "extra": {"region_name": "us-east-1", "endpoint_url": self.moto.url}})  # fmt: skip
        os.environ["AIRFLOW_CONN_ENCORD_TEST"] = self.emulator.airflow_connection()
        from airflow.utils import db

        db.initdb()
        import boto3

        self.s3 = boto3.client("s3", endpoint_url=self.moto.url, region_name="us-east-1")
        self.client = self.emulator.client()
        self.injected = self.matched = self.blocks = 0

    def close(self) -> None:
        self.emulator.close()
        self.moto.stop()

    def pipeline(self, name: str, **overrides: Any) -> dict[str, Any]:
        """A fresh pipeline over its own media and staging buckets (filled), written to the pipelines file."""
        from tests.dags.test_ingest_support import pipeline_config

        media, staging = f"media-{name}".replace("_", "-"), f"staging-{name}".replace("_", "-")
        for bucket in (media, staging):
            self.s3.create_bucket(Bucket=bucket)
        self.objects = 0
        for key, data in mixed_objects(OBJECTS):
            self.s3.put_object(Bucket=media, Key=key, Body=data)
            self.objects += 1
        config = pipeline_config("bench", "s3", media, "aws_test", f"s3://{staging}/encord", INTEGRATION,
                                 chunking={"max_entries": 100}, registration={"unknown_job_settle_minutes": 0.2},
                                 upload_poll_seconds=0.5, **overrides)  # fmt: skip
        config.setdefault("ledger", {})["compaction_grace_seconds"] = 0
        self.write(config)
        return config

    def write(self, config: dict[str, Any]) -> None:
        import yaml

        path = self.home / "pipelines.yaml"
        path.write_text(yaml.safe_dump({"pipelines": [config], "projects": []}), encoding="utf-8")
        os.environ["ENCORD_PIPELINES_FILE"] = str(path)

    def run(self) -> Any:
        from tests.dags.test_ingest_support import run_dag

        dag_run = run_dag(DAG_ID)
        if dag_run.state != "success":
            raise RuntimeError(f"run {dag_run.run_id} ended {dag_run.state}")
        return dag_run

    @contextmanager
    def faults(self, rules: dict[str, Any] = FAULTS) -> Iterator[None]:
        """Inject `rules` for the block; `self.injected` / `self.matched` then count what they hit. Each
        block draws from its own seed: with one seed every scenario would see the same first draws."""
        self.blocks += 1
        self.emulator.admin_post(
            "/admin/faults", {**rules, "seed": rules.get("seed", 0) * 1000 + self.blocks}
        )
        try:
            yield
        finally:
            summary = self.emulator.admin_get("/admin/faults")["rules"]
            self.injected += sum(rule["injected"] for rule in summary)
            # each pattern has one 429 rule, and every request it matches is counted once there
            self.matched += sum(rule["matched"] for rule in summary if rule["status"] == 429)
            self.emulator.admin_post("/admin/faults", {"rules": []})

    def settings(self, **settings: Any) -> None:
        self.emulator.admin_post("/admin/seed", {"settings": settings})

    def tally(self, config: dict[str, Any]) -> dict[str, int]:
        from uuid import UUID

        from tests.dags.test_ingest_support import ledger_records
        from tests.ingest_invariants import check_exactly_once

        media, staging = config["source"]["bucket"], config["staging"]["uri"].split("/")[2]
        keys = [o.key for o in _list(self.s3, media) if not o.key.endswith((".encord.json", "/"))]
        resources = _staging_json(self.s3, staging, "/resources.json")
        folder = self.client.get_storage_folder(UUID(resources["folders"][config["folder"]["name"]]))
        rows = {h: list(self.client.get_dataset(h).data_rows) for h in resources["datasets"].values()}
        tally = check_exactly_once(bucket_keys=keys, ledger_records=ledger_records(config),
                                   folder_items=list(folder.list_items(page_size=1000)), dataset_rows=rows,
                                   raise_on_problem=False)  # fmt: skip
        result = tally.as_dict()
        result["problems"] = len(tally.problems)
        if tally.problems:
            print("   problems:", tally.problems[:5], flush=True)
        return result


class _Key:
    def __init__(self, key: str) -> None:
        self.key = key


def _list(s3: Any, bucket: str) -> Iterator[_Key]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield _Key(item["Key"])


def _staging_json(s3: Any, bucket: str, suffix: str) -> dict[str, Any]:
    (key,) = [k.key for k in _list(s3, bucket) if k.key.endswith(suffix)]
    return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


# -- the scenarios --------------------------------------------------------------------------------


def clean(bench: Bench) -> dict[str, Any]:
    config = bench.pipeline("clean")
    with bench.faults():
        bench.run()
    return config


def kill_after_job_start(bench: Bench) -> dict[str, Any]:
    from encord_provider.encord_api import EncordApi

    config = bench.pipeline("kill", task_retries=1, retry_delay_seconds=1)
    bench.settings(upload_job_processing_seconds=3)
    real = EncordApi.start_upload_job
    killed: list[str] = []

    def start_then_die(self: EncordApi, *args: Any, **kwargs: Any) -> str:
        job_id = real(self, *args, **kwargs)
        if len(killed) < 2:
            killed.append(job_id)
            raise SystemExit("killed right after the job started")
        return job_id

    EncordApi.start_upload_job = start_then_die  # type: ignore[method-assign]
    try:
        with bench.faults():
            bench.run()
    finally:
        EncordApi.start_upload_job = real  # type: ignore[method-assign]
        bench.settings(upload_job_processing_seconds=0)
    return config


def lost_job_start_response(bench: Bench) -> dict[str, Any]:
    config = bench.pipeline("lost")
    start = "^POST /v2/public/storage/folders/[^/]+/data-upload-jobs$"
    rules = {"seed": 3, "rules": [
        {"pattern": start, "mode": "lost_response", "error_rate": 0.5, "status": 502},
        *FAULTS["rules"],
    ]}  # fmt: skip
    with bench.faults(rules):
        bench.run()
    return config


def two_runs_at_once(bench: Bench) -> dict[str, Any]:
    config = bench.pipeline("twice")
    outs = [bench.home / "run-a.json", bench.home / "run-b.json"]
    with bench.faults():
        children = [subprocess.Popen([sys.executable, "-m", "tests.dags.ingest_child", DAG_ID, str(out)], cwd=ROOT)
                    for out in outs]  # fmt: skip
        codes = [child.wait(3600) for child in children]
    if codes != [0, 0]:
        raise RuntimeError(f"child runs exited {codes}")
    states = [json.loads(out.read_text())["state"] for out in outs]
    if states != ["success", "success"]:
        raise RuntimeError(f"child runs ended {states}")
    return config


def folder_deleted(bench: Bench) -> dict[str, Any]:
    from tests.dags.test_ingest_support import delete_folder_in_encord

    config = bench.pipeline("folder")
    with bench.faults():
        bench.run()
    staging = config["staging"]["uri"].split("/")[2]  # a user deletes the folder (no faults on their calls)
    folder = _staging_json(bench.s3, staging, "/resources.json")["folders"][config["folder"]["name"]]
    delete_folder_in_encord(bench.client, folder)
    with bench.faults():
        bench.run()
    return config


def dataset_deleted_and_added(bench: Bench) -> dict[str, Any]:
    from tests.dags.test_ingest_support import delete_dataset_in_encord

    config = bench.pipeline("dataset")
    with bench.faults():
        bench.run()
    staging = config["staging"]["uri"].split("/")[2]
    (dataset,) = _staging_json(bench.s3, staging, "/resources.json")["datasets"].values()
    delete_dataset_in_encord(bench.emulator, dataset)
    config["datasets"] = [*config["datasets"], {"title": f"{config['datasets'][0]['title']}-added"}]
    bench.write(config)
    with bench.faults():
        bench.run()
    return config


def bucket_changed(bench: Bench) -> dict[str, Any]:
    from demo.media import image_bytes

    config = bench.pipeline(
        "changes", bucket_changes={"overwritten": "update_metadata", "deleted": "archive"}
    )
    media = config["source"]["bucket"]
    with bench.faults():
        bench.run()
    images = [k.key for k in _list(bench.s3, media) if k.key.endswith(".jpg")]
    for key in images[:20]:
        bench.s3.put_object(Bucket=media, Key=key, Body=image_bytes(9, 9, (1, 2, 3)))
    for key in images[20:40]:
        bench.s3.delete_object(Bucket=media, Key=key)
    with bench.faults():
        bench.run()
    return config


SCENARIOS: dict[str, Callable[[Bench], dict[str, Any]]] = {
    "clean run": clean,
    "kill right after job start": kill_after_job_start,
    "lost job-start responses": lost_job_start_response,
    "two runs at once": two_runs_at_once,
    "folder deleted between runs": folder_deleted,
    "dataset deleted + one added": dataset_deleted_and_added,
    "objects overwritten + deleted": bucket_changed,
}


def run() -> dict[str, Any]:
    wanted = [s.strip() for s in os.environ.get("BENCH_EO_SCENARIOS", "").split(",") if s.strip()]
    bench = Bench()
    rows: dict[str, Any] = {}
    try:
        for name, scenario in SCENARIOS.items():
            if wanted and not any(w in name for w in wanted):
                continue
            print(f"-- {name}", flush=True)
            started = time.perf_counter()
            bench.injected = bench.matched = 0
            try:
                config = scenario(bench)
                rows[name] = {**bench.tally(config), "seconds": round(time.perf_counter() - started, 1),
                              "faults_injected": bench.injected, "requests_seen": bench.matched}  # fmt: skip
            except Exception as err:  # one broken scenario must not hide the others' figures
                rows[name] = {"error": f"{type(err).__name__}: {err}"}
            print(f"   {rows[name]}", flush=True)
    finally:
        bench.close()
    print(table(rows))
    ok = all(r.get("registered_twice") == 0 and r.get("lost") == 0 for r in rows.values())
    return {"objects": OBJECTS, "fault_rate": FAULT_RATE, "scenarios": rows, "target": "registered twice = 0 and "
            "lost = 0 in every scenario", "target_met": ok}  # fmt: skip


def table(rows: dict[str, Any]) -> str:
    lines = ["| scenario | objects in | registered | rejected | registered twice | lost | faults injected / "
             "Encord requests | seconds |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, row in rows.items():
        if "error" in row:
            lines.append(f"| {name} | error: {row['error']} | | | | | | |")
            continue
        lines.append(f"| {name} | {row['objects_in']} | {row['registered']} | {row['rejected']} | "
                     f"{row['registered_twice']} | {row['lost']} | {row['faults_injected']} / {row['requests_seen']} | "
                     f"{row['seconds']} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))

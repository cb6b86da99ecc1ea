"""`make demo`: onboard generated media from (moto) S3 into the local Encord emulator with Airflow.

Starts moto and the Encord emulator, fills s3://demo-media/incoming/ with images, an image sequence's
frames, a video, a PDF, audio, text and a DICOM series, then runs `encord_ingest__demo_s3` (from
include/pipelines.yaml) twice with `dag.test()` against SQLite in a fresh AIRFLOW_HOME under .demo/.
The second run shows the ledger at work: nothing is registered twice. If demo/label_loop.py exists,
its `run_label_loop(context)` runs last (agents + label export).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.dag_runs import run_dag_test, xcom_value

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = "demo_s3"
INTEGRATION = "demo-aws"


def _prepare_environment() -> Path:
    """Airflow reads its config at import: set everything first."""
    (ROOT / ".demo").mkdir(exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="airflow-home-", dir=ROOT / ".demo"))
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("DEMO_LOG_LEVEL", "WARNING"),
            "ENCORD_PIPELINES_FILE": str(ROOT / "include" / "pipelines.yaml"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    for path in (ROOT, ROOT / "dags"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return home


def fill_bucket(moto_url: str, extra_buckets: tuple[str, ...] = ()) -> int:
    import boto3

    from demo.media import demo_objects

    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    for bucket in ("demo-media", "demo-staging", *extra_buckets):
        s3.create_bucket(Bucket=bucket)
    count = 0
    for key, data, content_type in demo_objects("incoming/"):
        s3.put_object(Bucket="demo-media", Key=key, Body=data, ContentType=content_type)
        count += 1
    return count


def _run_ingest(label: str) -> dict[str, Any]:
    import encord_ingest

    dag = getattr(encord_ingest, f"encord_ingest__{PIPELINE}")
    started = time.perf_counter()
    dag_run = run_dag_test(dag)
    states: dict[str, int] = {}
    for ti in dag_run.get_task_instances():
        states[str(ti.state)] = states.get(str(ti.state), 0) + 1
    print(f"\n== {label}: run {dag_run.run_id} -> {dag_run.state} in {time.perf_counter() - started:.1f}s "
          f"(task instances: {states})")  # fmt: skip
    if dag_run.state != "success":
        raise SystemExit(f"{label} failed; task logs are under {os.environ['AIRFLOW_HOME']}/logs")
    return {
        "run": dag_run,
        "finalize": xcom_value(dag_run, "finalize"),
        "prepare": xcom_value(dag_run, "prepare"),
    }


def _show_report(moto_url: str, summary: dict[str, Any]) -> dict[str, Any]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    key = summary["report_uri"].removeprefix("s3://demo-staging/")
    report = json.loads(s3.get_object(Bucket="demo-staging", Key=key)["Body"].read())
    print(f"   report: {summary['report_uri']}")
    print(
        f"   this run by state: {report['states'] or '{} (nothing new)'}; ledger totals: {report['ledger_totals']}"
    )
    for error in report["errors"]:
        print(f"   ! {error['key']}: {error['error']}")
    return report


def _show_encord(client: Any, prepare: dict[str, Any]) -> dict[str, Any]:
    from uuid import UUID

    folder = client.get_storage_folder(UUID(prepare["folder_uuid"]))
    items = list(folder.list_items())
    print(f"\n== Encord (emulator): folder {folder.name!r} ({folder.uuid}) holds {len(items)} items")
    for item in sorted(items, key=lambda i: i.name):
        print(f"   {str(item.item_type.value):14} {item.name}")
    rows = 0
    for dataset_hash in prepare["dataset_hashes"]:
        dataset = client.get_dataset(dataset_hash)
        rows = len(dataset.data_rows)
        print(f"   dataset {dataset.title!r} ({dataset_hash}): {rows} data rows")
    return {"folder_uuid": str(folder.uuid), "items": len(items), "dataset_rows": rows}


def _maybe_label_loop(context: dict[str, Any]) -> None:
    if not (ROOT / "demo" / "label_loop.py").exists():
        print("\n(demo/label_loop.py not present: skipping agents + label export)")
        return
    from demo.label_loop import run_label_loop  # type: ignore[import-not-found,unused-ignore]

    print("\n== Label loop (agents + export)")
    result = run_label_loop(context)
    print(json.dumps(result, indent=1, default=str))


def _project_bootstrap(context: dict[str, Any]) -> None:
    from demo.project_bootstrap import run_project_bootstrap

    print("\n== Projects from config (the bootstrap task, run twice)")
    run_project_bootstrap(context)


def main() -> None:
    home = _prepare_environment()
    from encord_emulator.testing import EmulatorProcess

    from tests.services import MotoServer

    moto = MotoServer()
    moto.start()
    emulator = EmulatorProcess(
        data_dir=home / "encord-emulator",
        seed={"integrations": [{"title": INTEGRATION, "provider": "aws", "endpoint_url": moto.url}]},
    )
    try:
        emulator.start()
        os.environ["AIRFLOW_CONN_AWS_DEMO"] = json.dumps(
            {"conn_type": "aws", "login": "testing", "password": "testing",
             "extra": {"region_name": "us-east-1", "endpoint_url": moto.url}}
        )  # fmt: skip
        os.environ["AIRFLOW_CONN_ENCORD_DEMO"] = emulator.airflow_connection()
        print(f"moto S3 at {moto.url}; Encord emulator at {emulator.url}; AIRFLOW_HOME={home}")
        print(f"uploaded {fill_bucket(moto.url)} objects to s3://demo-media/incoming/")

        from airflow.utils import db

        db.initdb()
        first = _run_ingest("first ingest run")
        _show_report(moto.url, first["finalize"])
        second = _run_ingest("second ingest run (same bucket)")
        report = _show_report(moto.url, second["finalize"])
        client = emulator.client()
        encord = _show_encord(client, first["prepare"])
        from demo.local_import import run_local_import

        run_local_import(client)
        print("\n== Where things are")
        print(
            f"   manifests + chunk plans: s3://demo-staging/encord/runs/{PIPELINE}/<run id>/plan-<attempt>/chunks/"
        )
        print(f"   run reports:             s3://demo-staging/encord/runs/{PIPELINE}/<run id>/report.json")
        print(f"   ledger:                  s3://demo-staging/encord/ledger/{PIPELINE}/")
        print(f"   Airflow task logs:       {home}/logs")
        _project_bootstrap({"emulator": emulator, "encord_client": client, "airflow_home": str(home)})
        _maybe_label_loop(
            {
                "emulator": emulator, "encord_client": client, "moto_url": moto.url, "airflow_home": str(home),
                "pipeline": PIPELINE, "folder_uuid": encord["folder_uuid"],
                "dataset_hashes": first["prepare"]["dataset_hashes"], "ingest_report": report,
            }
        )  # fmt: skip
    finally:
        emulator.stop()
        moto.stop()


if __name__ == "__main__":
    main()

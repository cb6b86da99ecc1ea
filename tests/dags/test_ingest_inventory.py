"""An ingest run whose plan reads the source bucket's S3 Inventory instead of listing it (issue 12).

The inventory is written in manifest order (shuffled, several data files), so plan must sort it before
the manifest build; the run is checked with `check_exactly_once`. A stale inventory fails plan at once,
naming the inventory.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from encord_provider.storage.s3 import S3Store

from tests.dags.test_ingest_support import (
    assert_exactly_once,
    pipeline_config,
    put_demo_media,
    run_dag,
    seed_integration,
    staging_json,
    task_states,
    write_pipelines,
    xcom,
)
from tests.inventory_files import Row, write_s3_inventory

pytestmark = pytest.mark.timeout(300)
INTEGRATION = "inv-aws"
INVENTORY_URI = "s3://inventory/inventories/media/daily/"


@pytest.fixture
def inventory_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str, encord_emulator: Any
) -> dict[str, Any]:
    for bucket in ("media", "staging", "inventory"):
        s3_client.create_bucket(Bucket=bucket)
    seed_integration(encord_emulator, INTEGRATION, "aws", endpoint_url=moto_endpoint)
    put_demo_media(lambda key, data: s3_client.put_object(Bucket="media", Key=key, Body=data))
    config = pipeline_config("inv", "s3", "media", "aws_test", "s3://staging/encord", INTEGRATION)
    config["source"]["listing"] = {
        "mode": "inventory",
        "inventory": {"uri": INVENTORY_URI, "max_age_hours": 24},
    }
    write_pipelines(tmp_path, monkeypatch, config)
    return config


def _write_inventory(s3_client: Any, created: datetime) -> None:
    rows = [Row.of(record) for record in S3Store("media", client=s3_client).list_objects()]
    random.Random(7).shuffle(rows)  # manifest order is not key order
    write_s3_inventory(S3Store("inventory", client=s3_client), rows, source_bucket="media", created=created,
                       file_format="parquet", rows_per_file=4)  # fmt: skip


def test_an_inventory_listed_run_registers_every_object_exactly_once(
    inventory_pipeline: dict[str, Any], s3_client: Any, encord_client: Any
) -> None:
    _write_inventory(s3_client, datetime.now(UTC) - timedelta(hours=1))
    dag_run = run_dag("encord_ingest__inv")
    assert dag_run.state == "success", task_states(dag_run)
    assert xcom(dag_run, "finalize")["states"] == {"linked": 10, "rejected": 1}
    tally = assert_exactly_once(s3_client, encord_client, inventory_pipeline)  # raises on any problem
    assert (tally.registered, tally.rejected, tally.registered_twice, tally.lost) == (10, 1, 0, 0)
    # an inventory is read whole: finalize notes a full listing (what pruned runs count from)
    assert staging_json(s3_client, "/full-listing.json")["run_id"] == dag_run.run_id


def test_a_stale_inventory_fails_plan_at_once_naming_it(
    inventory_pipeline: dict[str, Any], s3_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _write_inventory(s3_client, datetime.now(UTC) - timedelta(days=3))
    dag_run = run_dag("encord_ingest__inv")
    assert dag_run.state == "failed"
    states = task_states(dag_run)
    assert states[("plan", -1)] == "failed", states
    assert "inventory s3://inventory/inventories/media/daily/" in caplog.text

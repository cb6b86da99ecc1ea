"""Permanent errors fail the task at once, naming what to fix; transient ones are left to Airflow's retries.

The stores are checked before anything is created in Encord. Most checks call the prepare step directly
(the same code the task runs); one DAG run shows that a permanent error is not retried.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.dags.test_ingest_support import (
    pipeline_config,
    run_dag,
    seed_integration,
    task_states,
    write_pipelines,
)

pytestmark = pytest.mark.timeout(300)
INTEGRATION = "err-aws"


@pytest.fixture
def make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str, encord_emulator: Any
) -> Any:
    seed_integration(encord_emulator, INTEGRATION, "aws", endpoint_url=moto_endpoint)

    def build(source_bucket: str = "media", staging_bucket: str = "staging", integration: str = INTEGRATION,
              **overrides: Any) -> Any:  # fmt: skip
        from encord_provider.config.ingest import IngestPipeline

        for bucket in {source_bucket, staging_bucket} - {"missing-source", "missing-staging"}:
            s3_client.create_bucket(Bucket=bucket)
        config = pipeline_config("err", "s3", source_bucket, "aws_test", f"s3://{staging_bucket}/encord", integration,
                                 **overrides)  # fmt: skip
        write_pipelines(tmp_path, monkeypatch, config)
        return IngestPipeline.model_validate(config)

    return build


def _prepare(pipeline: Any) -> Any:
    from encord_provider.operators.ingest import prepare_step

    return prepare_step(pipeline, {}, pipeline.dag_id, f"manual__{uuid.uuid4().hex[:6]}")


def _no_folder(encord_client: Any, pipeline: Any) -> bool:
    return not [f for f in encord_client.find_storage_folders(search=pipeline.folder.name)]


@pytest.mark.parametrize(("source", "staging", "role", "bucket"), [
    ("missing-source", "staging", "source", "s3://missing-source"),
    ("media", "missing-staging", "staging", "s3://missing-staging"),
])  # fmt: skip
def test_a_missing_bucket_is_named_with_its_role_before_encord_is_touched(
    make: Any, encord_client: Any, source: str, staging: str, role: str, bucket: str
) -> None:
    pipeline = make(source_bucket=source, staging_bucket=staging)
    with pytest.raises(AirflowFailException) as failure:
        _prepare(pipeline)
    message = str(failure.value)
    assert f"{role} bucket {bucket} (connection 'aws_test') does not exist" in message
    assert "NoSuchBucket" in message
    assert _no_folder(encord_client, pipeline)


def test_an_unknown_integration_fails_at_once_naming_it(make: Any, encord_client: Any) -> None:
    pipeline = make(integration="no-such-integration")
    with pytest.raises(AirflowFailException, match="no Encord cloud integration with title 'no-such-integration' "
                                                   "for connection 'encord_test'"):  # fmt: skip
        _prepare(pipeline)
    assert _no_folder(encord_client, pipeline)


def test_a_refused_key_names_the_connection(
    make: Any, encord_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from encord_emulator.testing import generate_keypair

    unknown_key, _ = generate_keypair()
    monkeypatch.setenv("AIRFLOW_CONN_ENCORD_STRANGER", json.dumps(
        {"conn_type": "encord", "extra": {"private_key": unknown_key, "domain": encord_emulator.url}}
    ))  # fmt: skip
    pipeline = make(encord_conn_id="encord_stranger")
    with pytest.raises(AirflowFailException, match="Encord connection 'encord_stranger'.*was refused"):
        _prepare(pipeline)


def test_a_missing_connection_fails_at_once(make: Any) -> None:
    pipeline = make(encord_conn_id="never_defined")
    with pytest.raises(AirflowFailException, match="never_defined"):
        _prepare(pipeline)


def test_an_unreachable_endpoint_is_transient_and_named(make: Any) -> None:
    from encord_provider.ingest.errors import StoreUnavailableError

    pipeline = make(
        source={"cloud": "s3", "bucket": "media", "prefix": "in/", "endpoint_url": "http://127.0.0.1:9"}
    )
    with pytest.raises(StoreUnavailableError, match="source bucket s3://media .* could not be reached"):
        _prepare(pipeline)


def test_a_permanent_error_is_not_retried(make: Any) -> None:
    make(integration="no-such-integration", task_retries=2, retry_delay_seconds=0)
    dag_run = run_dag("encord_ingest__err")
    assert dag_run.state == "failed"
    (prepare,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == "prepare"]
    assert (str(prepare.state), prepare.try_number) == ("failed", 1), task_states(dag_run)

"""Test bootstrap: a throwaway AIRFLOW_HOME per test process, and the cloud storage emulators.

The environment is set before anything imports airflow, because airflow reads its config at import.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="airflow-test-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
os.environ["AIRFLOW__CORE__TEST_CONNECTION"] = "Enabled"
# Tests rewrite the pipelines file between dag.test() runs of one DAG id seconds apart; with the default
# 30 s, the second run's DAG (its deadline alerts, for one) would not reach the metadata DB.
os.environ["AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL"] = "0"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)

import pytest  # noqa: E402

pytest_plugins = ["tests.emulator_fixtures"]

from tests.services import (  # noqa: E402
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    AzuriteServer,
    FakeGcsServer,
    MotoServer,
    reset_moto,
)


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Iterator[None]:
    """Create the SQLite metadata DB once per test process."""
    from airflow.utils import db

    db.initdb()
    yield
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def fresh_storage_clients() -> Iterator[None]:
    """Each test builds its own storage clients: a cached one would hide a connection or endpoint change
    that a test makes (tasks in production run one per process, so their cache starts empty too)."""
    from encord_provider.storage import client_cache

    client_cache.clear()
    yield


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto server (S3 and SQS) in its own process; AIRFLOW_CONN_AWS_TEST points at it."""
    server = MotoServer()
    server.start()
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ENDPOINT_URL_TEST_ONLY", server.url)
    mp.setenv(
        "AIRFLOW_CONN_AWS_TEST",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"region_name": "us-east-1", "endpoint_url": server.url},
            }
        ),
    )
    yield server.url
    mp.undo()
    server.stop()


@pytest.fixture
def s3_client(moto_endpoint: str):  # type: ignore[no-untyped-def]
    """A boto3 S3 client on an emptied moto server."""
    import boto3

    reset_moto(moto_endpoint)
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def sqs_client(moto_endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    """fake-gcs-server (filesystem backend); AIRFLOW_CONN_GCP_TEST points at it."""
    server = FakeGcsServer()
    server.start()
    mp = pytest.MonkeyPatch()
    mp.setenv(
        "AIRFLOW_CONN_GCP_TEST",
        json.dumps(
            {
                "conn_type": "google_cloud_platform",
                "extra": {"project": "test-project", "endpoint_url": server.url, "anonymous": True},
            }
        ),
    )
    yield server.url
    mp.undo()
    server.stop()


@pytest.fixture
def gcs_client(gcs_endpoint: str):  # type: ignore[no-untyped-def]
    """A google-cloud-storage client bound to the emulator (anonymous credentials)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project="test-project",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": gcs_endpoint},
    )


@pytest.fixture(scope="session")
def azurite_conn_str() -> Iterator[str]:
    """Azurite blob service; AIRFLOW_CONN_WASB_TEST points at it."""
    server = AzuriteServer()
    server.start()
    mp = pytest.MonkeyPatch()
    mp.setenv(
        "AIRFLOW_CONN_WASB_TEST",
        json.dumps(
            {
                "conn_type": "wasb",
                "login": AZURITE_ACCOUNT,
                "password": AZURITE_KEY,
                "extra": {"connection_string": server.connection_string},
            }
        ),
    )
    yield server.connection_string
    mp.undo()
    server.stop()


@pytest.fixture
def blob_service(azurite_conn_str: str):  # type: ignore[no-untyped-def]
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(azurite_conn_str)

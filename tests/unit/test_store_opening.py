"""One way to open a store: a pipeline's stores (ingest) and a URI's (export, CLI, UI) come out the same
when a connection and an explicit endpoint are both set. Regression tests for the three ways the ingest
copy of the store builder used to disagree with `storage.connections`:

- a GCS connection's key file was dropped;
- an AWS connection's role was not assumed (S3Hook was skipped);
- an Azure connection string overrode the explicit endpoint.

No server is needed: the clients are built, and their credentials and endpoints inspected, offline.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from encord_provider.config import parse_pipelines
from encord_provider.ingest.stores import source_store
from encord_provider.storage.factory import store_from_url

ENDPOINT = "http://127.0.0.1:9"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _via_ingest(cloud: str, bucket: str, conn_id: str) -> Any:
    text = f"""
pipelines:
  - name: p
    source: {{cloud: {cloud}, bucket: {bucket}, conn_id: {conn_id}, endpoint_url: "{ENDPOINT}/devstoreaccount1"}}
    integration: {{title: i}}
    folder: {{name: f}}
    staging: {{uri: "s3://staging/encord"}}
"""
    return source_store(parse_pipelines(text).pipelines[0])


def _via_uri(cloud: str, bucket: str, conn_id: str) -> Any:
    scheme = {"s3": "s3", "gcs": "gs", "azure": "az"}[cloud]
    store, _ = store_from_url(
        f"{scheme}://{bucket}/in/", conn_id=conn_id, endpoint_url=f"{ENDPOINT}/devstoreaccount1"
    )
    return store


OPENERS = pytest.mark.parametrize("open_source", [_via_ingest, _via_uri], ids=["ingest", "uri"])


@pytest.fixture
def gcp_key_file(tmp_path: Path) -> tuple[Path, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    email = "ingest@my-project.iam.gserviceaccount.com"
    info = {
        "type": "service_account",
        "project_id": "my-project",
        "private_key_id": "1",
        "private_key": pem,
        "client_email": email,
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    return path, email


@OPENERS
def test_gcs_keeps_the_connections_key_file(
    open_source: Callable[..., Any], gcp_key_file: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.oauth2 import service_account

    path, email = gcp_key_file
    extra = {"key_path": str(path), "project": "my-project"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_GCP_KEYED", json.dumps({"conn_type": "google_cloud_platform", "extra": extra})
    )
    store = open_source("gcs", "media", "gcp_keyed")
    credentials = store.client._credentials
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == email
    assert store.client._connection.API_BASE_URL.startswith(ENDPOINT)


@OPENERS
def test_s3_assumes_the_connections_role(
    open_source: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.amazon.aws.hooks.base_aws import BaseSessionFactory

    assumed: list[str] = []

    def assume_role(self: BaseSessionFactory, sts_client: Any) -> dict[str, Any]:  # STS, answered offline
        assumed.append(self.role_arn)
        expires = datetime.now(UTC) + timedelta(hours=1)
        keys = {
            "AccessKeyId": "ASIAROLE",
            "SecretAccessKey": "role-secret",
            "SessionToken": "t",
            "Expiration": expires,
        }
        return {"Credentials": keys, "ResponseMetadata": {"HTTPStatusCode": 200}}

    monkeypatch.setattr(BaseSessionFactory, "_assume_role", assume_role)
    extra = {"role_arn": "arn:aws:iam::123456789012:role/ingest", "region_name": "eu-west-2"}
    conn = {"conn_type": "aws", "login": "AKIABASE", "password": "base-secret", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_ROLE", json.dumps(conn))
    store = open_source("s3", "media", "aws_role")
    assert assumed and set(assumed) == {extra["role_arn"]}
    credentials = store.client._request_signer._credentials.get_frozen_credentials()
    assert credentials.access_key == "ASIAROLE"  # the role's keys sign requests, not the connection's login
    assert store.client.meta.endpoint_url == f"{ENDPOINT}/devstoreaccount1"
    assert store.region == "eu-west-2"


@OPENERS
def test_azure_endpoint_wins_over_the_connection_string(
    open_source: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_str = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    )
    conn = {"conn_type": "wasb", "extra": {"connection_string": conn_str}}
    monkeypatch.setenv("AIRFLOW_CONN_WASB_STRING", json.dumps(conn))
    store = open_source("azure", "media", "wasb_string")
    assert store.service.url.startswith(f"{ENDPOINT}/devstoreaccount1")
    assert store.account == "devstoreaccount1"  # the key and account still come from the connection string
    assert store.service.credential.account_name == "devstoreaccount1"

"""Inventories stored in moto, fake-gcs-server and Azurite give the same records as listing the bucket.

Each test seeds a source bucket with odd keys, lists it with the store, writes an inventory of that
listing into another bucket of the same emulator, reads it back through the store of that bucket, and
compares. The S3 case also goes through `open_listing` with the pipeline's Airflow connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from encord_provider.config import parse_pipelines
from encord_provider.storage.azure import AzureBlobStore
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.gcs import GCSStore
from encord_provider.storage.inventory import InventoryStats, open_inventory
from encord_provider.storage.listing import open_listing
from encord_provider.storage.records import ObjectRecord
from encord_provider.storage.s3 import S3Store

from tests.integration.test_storage_contract import ODD_KEYS
from tests.inventory_files import SNAPSHOT, Row, write_azure_inventory, write_gcs_report, write_s3_inventory

KEYS = ["data/a.jpg", "data/b/c.png", "data/p1/x.jpg", "data/p10/y.jpg", *ODD_KEYS]


def seed_and_list(source: ObjectStore) -> list[ObjectRecord]:
    for key in KEYS:
        source.write_bytes(key, f"body of {key}".encode())
    return list(source.list_objects())


def same_records(inventory_records: list[ObjectRecord], listed: list[ObjectRecord]) -> None:
    assert sorted(inventory_records, key=lambda r: r.key) == sorted(listed, key=lambda r: r.key)


def check_prefixes(read: Callable[[str], list[ObjectRecord]], source: ObjectStore) -> None:
    for prefix in ("", "data/", "data/p1", "odd/", "nothing/"):
        same_records(read(prefix), list(source.list_objects(prefix)))


@pytest.mark.parametrize("file_format", ["csv", "orc", "parquet"])
def test_s3_inventory_in_moto_matches_list_objects(
    s3_client: Any, moto_endpoint: str, file_format: str
) -> None:
    for bucket in ("source-bucket", "inventory"):
        s3_client.create_bucket(Bucket=bucket)
    source = S3Store("source-bucket", client=s3_client, region="eu-west-1")
    inventory_store = S3Store("inventory", client=s3_client)
    listed = seed_and_list(source)
    write_s3_inventory(inventory_store, map(Row.of, listed), file_format=file_format, rows_per_file=4)  # type: ignore[arg-type]
    inventory = open_inventory("s3://inventory/inventories/source-bucket/daily/", "s3", store=inventory_store)
    check_prefixes(lambda prefix: list(inventory.records(source, prefix)), source)


def test_open_listing_reads_an_s3_inventory_through_the_airflow_connection(
    s3_client: Any, moto_endpoint: str
) -> None:
    for bucket in ("source-bucket", "inventory"):
        s3_client.create_bucket(Bucket=bucket)
    source = S3Store("source-bucket", client=s3_client, region="eu-west-1")
    listed = seed_and_list(source)
    write_s3_inventory(S3Store("inventory", client=s3_client), map(Row.of, listed), file_format="parquet")
    pipeline = parse_pipelines(
        """
pipelines:
  - name: inv
    source:
      cloud: s3
      bucket: source-bucket
      prefix: data/
      conn_id: aws_test
      listing:
        mode: inventory
        inventory: {uri: "s3://inventory/inventories/source-bucket/daily/", max_age_hours: 24}
    integration: {title: demo-aws}
    folder: {name: Demo folder}
    staging: {uri: "s3://staging/encord/"}
"""
    ).pipelines[0]
    stats = InventoryStats()
    records = list(open_listing(pipeline, source, stats=stats, now=SNAPSHOT + timedelta(hours=1)))
    same_records(records, list(source.list_objects("data/")))
    assert stats.manifest == "s3://inventory/inventories/source-bucket/daily/2024-01-02T03-04Z/manifest.json"
    assert stats.files_read == 1 and stats.skipped == {"outside_prefix": len(ODD_KEYS)}


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_gcs_report_in_fake_gcs_server_matches_list_objects(gcs_client: Any, file_format: str) -> None:
    names = {role: f"inv-test-{role}-{uuid.uuid4().hex[:10]}" for role in ("source", "reports")}
    for name in names.values():
        gcs_client.create_bucket(name)
    source = GCSStore(names["source"], client=gcs_client)
    reports = GCSStore(names["reports"], client=gcs_client)
    listed = seed_and_list(source)
    write_gcs_report(
        reports, map(Row.of, listed), file_format=file_format, source_bucket=names["source"], rows_per_file=4
    )  # type: ignore[arg-type]
    inventory = open_inventory(f"gs://{names['reports']}/reports/", "gcs", store=reports)
    check_prefixes(lambda prefix: list(inventory.records(source, prefix)), source)


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_azure_inventory_in_azurite_matches_list_objects(blob_service: Any, file_format: str) -> None:
    names = {role: f"inv-test-{role}-{uuid.uuid4().hex[:10]}" for role in ("source", "inventory")}
    for name in names.values():
        blob_service.create_container(name)
    source = AzureBlobStore(names["source"], service=blob_service)
    destination = AzureBlobStore(names["inventory"], service=blob_service)
    listed = seed_and_list(source)
    write_azure_inventory(
        destination, map(Row.of, listed), container=names["source"], file_format=file_format, rows_per_file=4
    )  # type: ignore[arg-type]
    write_azure_inventory(
        destination, [Row("data/elsewhere.jpg")], container="another", file_format=file_format, rule="others"
    )  # type: ignore[arg-type]
    inventory = open_inventory(f"az://{names['inventory']}/", "azure", rule="daily", store=destination)
    check_prefixes(lambda prefix: list(inventory.records(source, prefix)), source)

"""GCS Storage Insights inventory reports and Azure blob inventories on local disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from encord_provider.storage.inventory import (
    ChecksumMismatchError,
    InventoryError,
    InventoryStats,
    open_inventory,
)
from encord_provider.storage.local import LocalStore

from tests.inventory_files import (
    AZURE_FIELDS,
    AZURE_VERSION_FIELDS,
    GCS_FIELDS,
    MODIFIED,
    Row,
    write_azure_inventory,
    write_gcs_report,
)

KEYS = ["data/a.jpg", "data/b/c d+e.png", "data/ünï 日本.jpg", 'data/new\nline,"q".jpg', "other/x.jpg"]


def keys_of(
    uri: str, kind: str, source: LocalStore, bucket: str, prefix: str = "", **kwargs: Any
) -> list[str]:
    inventory = open_inventory(uri, kind, **kwargs)  # type: ignore[arg-type]
    return [r.key for r in inventory.records(source, prefix, bucket=bucket)]


# --- GCS --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_format", "header", "camel_case", "delimiter"),
    [
        ("csv", True, True, ","),
        ("csv", False, True, ","),
        ("csv", True, False, "|"),
        ("parquet", True, True, ","),
    ],
)
def test_gcs_report_round_trip(
    inv: LocalStore, source: LocalStore, file_format: str, header: bool, camel_case: bool, delimiter: str
) -> None:
    rows = [Row(k) for k in KEYS]
    write_gcs_report(
        inv,
        rows,
        file_format=file_format,
        header=header,
        camel_case=camel_case,
        delimiter=delimiter,
        rows_per_file=2,  # type: ignore[arg-type]
    )
    inventory = open_inventory(f"file://{inv.bucket}/reports/", "gcs")
    records = list(inventory.records(source, "data/", bucket="source-bucket"))
    assert [r.key for r in records] == KEYS[:4]
    assert {r.size for r in records} == {1024} and {r.last_modified for r in records} == {MODIFIED}
    assert records[0].url == source.object_url("data/a.jpg") and records[0].etag == rows[0].etag
    assert len(inventory.files) == 3


def test_gcs_header_row_is_detected_when_the_config_does_not_say(inv: LocalStore, source: LocalStore) -> None:
    key = write_gcs_report(inv, [Row("a.jpg")], header=True)
    manifest = json.loads(inv.read_bytes(key))
    del manifest["report_config"]["csvOptions"]["headerRequired"]
    inv.write_bytes(key, json.dumps(manifest).encode())
    assert keys_of(f"file://{inv.bucket}/reports/", "gcs", source, "source-bucket") == ["a.jpg"]


def test_gcs_noncurrent_versions_are_skipped(inv: LocalStore, source: LocalStore) -> None:
    rows = [Row("live.jpg"), Row("old.jpg", time_deleted=datetime(2024, 1, 1, tzinfo=UTC))]
    for file_format in ("csv", "parquet"):
        write_gcs_report(
            inv,
            rows,
            fields=(*GCS_FIELDS, "timeDeleted"),
            file_format=file_format,
            destination_path=f"{file_format}/",
        )  # type: ignore[arg-type]
        stats = InventoryStats()
        inventory = open_inventory(f"file://{inv.bucket}/{file_format}/", "gcs")
        assert [r.key for r in inventory.records(source, bucket="source-bucket", stats=stats)] == ["live.jpg"]
        assert stats.skipped == {"noncurrent_version": 1}


def test_gcs_newest_manifest_is_chosen(inv: LocalStore, source: LocalStore) -> None:
    old = write_gcs_report(inv, [Row("old.jpg")], snapshot=datetime(2024, 1, 1, tzinfo=UTC))
    write_gcs_report(inv, [Row("new.jpg")], snapshot=datetime(2024, 1, 2, tzinfo=UTC))
    assert keys_of(f"file://{inv.bucket}/reports/", "gcs", source, "source-bucket") == ["new.jpg"]
    assert keys_of(f"file://{inv.bucket}/{old}", "gcs", source, "source-bucket") == ["old.jpg"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda m: m.update(shard_count=5), "shard_count is 5 but 1 shard file names are listed"),
        (lambda m: m.pop("report_shards_file_names"), "manifest has no 'report_shards_file_names' field"),
        (lambda m: m.update(snapshot_time="noon"), "snapshot_time 'noon' is not an RFC 3339 time"),
        (
            lambda m: m["report_config"]["objectMetadataReportOptions"].update(
                metadataFields=["bucket", "size"]
            ),
            "the report's metadata fields lack the required ['name']",
        ),
    ],
)
def test_gcs_malformed_manifest(inv: LocalStore, edit: Any, expected: str) -> None:
    key = write_gcs_report(inv, [Row("a.jpg")])
    manifest = json.loads(inv.read_bytes(key))
    edit(manifest)
    inv.write_bytes(key, json.dumps(manifest).encode())
    with pytest.raises(InventoryError, match="_manifest.json: ") as info:
        open_inventory(f"file://{inv.bucket}/reports/", "gcs")
    assert expected in str(info.value)


def test_gcs_report_of_another_bucket_is_refused(inv: LocalStore, source: LocalStore) -> None:
    write_gcs_report(inv, [Row("a.jpg")], source_bucket="elsewhere")
    with pytest.raises(InventoryError, match="lists bucket 'elsewhere', not the source 'source-bucket'"):
        keys_of(f"file://{inv.bucket}/reports/", "gcs", source, "source-bucket")


def test_gcs_no_manifest(inv: LocalStore) -> None:
    inv.write_bytes("reports/some.csv", b"name\n")
    with pytest.raises(InventoryError, match=r"reports/?: no inventory report manifest"):
        open_inventory(f"file://{inv.bucket}/reports/", "gcs")


# --- Azure ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_format", "time_style"), [("csv", "iso"), ("csv", "rfc1123"), ("parquet", "iso")]
)
def test_azure_round_trip(inv: LocalStore, source: LocalStore, file_format: str, time_style: str) -> None:
    write_azure_inventory(
        inv, [Row(k) for k in KEYS], file_format=file_format, time_style=time_style, rows_per_file=2
    )  # type: ignore[arg-type]
    inventory = open_inventory(f"file://{inv.bucket}/", "azure")
    records = list(inventory.records(source, "data/", bucket="source-container"))
    assert [r.key for r in records] == KEYS[:4]
    expected_time = MODIFIED.replace(microsecond=0) if time_style == "rfc1123" else MODIFIED
    assert {r.last_modified for r in records} == {expected_time} and records[1].url == source.object_url(
        KEYS[1]
    )


def test_azure_rows_that_are_not_live_blobs_of_the_container_are_skipped(
    inv: LocalStore, source: LocalStore
) -> None:
    rows = [
        Row("live.jpg", is_current_version=True, deleted=False),
        Row("live.jpg", snapshot="2024-01-01T00:00:00.0000000Z", is_current_version=None),
        Row("old.jpg", version_id="v1", is_current_version=False),
        Row("gone.jpg", deleted=True, is_current_version=True),
        Row("dir", size=0, is_folder=True),
    ]
    fields = (*AZURE_FIELDS, *AZURE_VERSION_FIELDS, "hdi_isfolder")
    for file_format in ("csv", "parquet"):
        write_azure_inventory(inv, rows, fields=fields, file_format=file_format, prefix=f"{file_format}/")  # type: ignore[arg-type]
        write_azure_inventory(
            inv,
            [Row("x.jpg")],
            container="other",
            fields=fields,
            file_format=file_format,
            prefix=f"{file_format}/",
            rule="other",
        )  # type: ignore[arg-type]
        stats = InventoryStats()
        inventory = open_inventory(f"file://{inv.bucket}/{file_format}/", "azure", rule="daily")
        assert [r.key for r in inventory.records(source, bucket="source-container", stats=stats)] == [
            "live.jpg"
        ]
        assert stats.skipped == {"snapshot": 1, "not_current_version": 1, "deleted": 1, "folder": 1}
        other = open_inventory(f"file://{inv.bucket}/{file_format}/", "azure", rule="other")
        stats = InventoryStats()
        assert list(other.records(source, bucket="source-container", stats=stats)) == []
        assert stats.skipped == {"other_container": 1}


def test_azure_several_rules_need_a_rule_name(inv: LocalStore) -> None:
    write_azure_inventory(inv, [Row("a.jpg")], rule="one")
    write_azure_inventory(inv, [Row("a.jpg")], rule="two")
    with pytest.raises(InventoryError, match=r"several inventory rules \['one', 'two'\]: set 'rule'"):
        open_inventory(f"file://{inv.bucket}/", "azure")
    assert open_inventory(f"file://{inv.bucket}/", "azure", rule="two").manifest.details["rule"] == "two"


def test_azure_newest_finished_run_is_chosen(inv: LocalStore, source: LocalStore) -> None:
    write_azure_inventory(inv, [Row("old.jpg")], run=datetime(2023, 12, 31, 23, 0, 0, tzinfo=UTC))
    write_azure_inventory(
        inv, [Row("new.jpg")], run=datetime(2024, 1, 1, 1, 2, 3, tzinfo=UTC), checksum_style="base64"
    )
    write_azure_inventory(inv, [Row("unfinished.jpg")], run=datetime(2024, 1, 2, tzinfo=UTC), checksum=False)
    assert keys_of(f"file://{inv.bucket}/", "azure", source, "source-container") == ["new.jpg"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"status": "PartiallySucceeded"}, "status is 'PartiallySucceeded', not 'Succeeded'"),
        ({"fields": ("Name", "Last-Modified")}, "schemaFields lacks the required ['Content-Length']"),
    ],
)
def test_azure_unusable_manifest(inv: LocalStore, kwargs: dict[str, Any], expected: str) -> None:
    write_azure_inventory(inv, [Row("a.jpg")], **kwargs)
    with pytest.raises(InventoryError, match="daily-manifest.json: ") as info:
        open_inventory(f"file://{inv.bucket}/", "azure")
    assert expected in str(info.value)


def test_azure_checksum_mismatch(inv: LocalStore) -> None:
    key = write_azure_inventory(inv, [Row("a.jpg")])
    inv.write_bytes(key.replace("-manifest.json", "-manifest.checksum"), b"AAAA")
    with pytest.raises(ChecksumMismatchError, match="daily-manifest.checksum: manifest MD5 is"):
        open_inventory(f"file://{inv.bucket}/", "azure")


def test_azure_csv_bad_row_is_named(inv: LocalStore, source: LocalStore) -> None:
    key = write_azure_inventory(inv, [Row("a.jpg"), Row("b.jpg")])
    data = json.loads(inv.read_bytes(key))["files"][0]["blob"]
    text = inv.read_bytes(data).decode().replace(",1024,", ",1 KB,", 2).encode()
    inv.write_bytes(data, text)
    manifest = json.loads(inv.read_bytes(key))
    manifest["files"][0]["size"] = len(text)
    inv.write_bytes(key, json.dumps(manifest).encode())
    inventory = open_inventory(f"file://{inv.bucket}/", "azure", verify_checksums=False)
    with pytest.raises(InventoryError, match=r"daily_0.csv, data row 1: size '1 KB' is not a byte count"):
        list(inventory.records(source, bucket="source-container"))

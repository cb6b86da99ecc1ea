"""S3 Inventory on local disk: round trips in every format, prefixes, odd keys, versions, discovery of
the newest finished run, streaming, staleness, and errors that name the file and row."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from encord_provider.storage.inventory import (
    ChecksumMismatchError,
    Inventory,
    InventoryError,
    InventoryStats,
    StaleInventoryError,
    check_freshness,
    open_inventory,
)
from encord_provider.storage.local import LocalStore
from encord_provider.storage.records import ObjectRecord
from encord_provider.storage.s3 import S3Store

from tests.inventory_files import (
    MODIFIED,
    SNAPSHOT,
    Row,
    s3_fields,
    write_s3_inventory,
    write_s3_parquet_synthetic,
)

FORMATS = ("csv", "orc", "parquet")
ODD_KEYS = [
    "odd/with space.jpg",
    "odd/plus+sign (1).jpg",
    "odd/ünïcødé-日本 😀.jpg",
    "odd/percent%20literal%.jpg",
    "odd/hash#and?query&x=1.jpg",
    "odd/back\\slash\\x41.jpg",
    "odd/new\nline.jpg",
    'odd/comma,"quote".jpg',
    "NA",  # CSV readers take these for missing values by default
    "null",
    "N/A",
    "nan",
    " leading and trailing spaces ",
]


def folder_uri(store: LocalStore, config: str = "daily") -> str:
    return f"file://{store.bucket}/inventories/source-bucket/{config}/"


def read(store: LocalStore, source: LocalStore, prefix: str = "", **kwargs: Any) -> list[ObjectRecord]:
    inventory = open_inventory(folder_uri(store), "s3", **kwargs)
    return list(inventory.records(source, prefix, bucket="source-bucket"))


@pytest.mark.parametrize("file_format", FORMATS)
def test_round_trip_matches_the_listing_of_the_bucket(
    file_format: str, inv: LocalStore, source: LocalStore
) -> None:
    for key in ["data/a.jpg", "data/b/c.png", *ODD_KEYS]:
        source.write_bytes(key, key.encode())
    listed = list(source.list_objects())
    write_s3_inventory(inv, map(Row.of, listed), file_format=file_format, rows_per_file=3)  # type: ignore[arg-type]
    records = read(inv, source)
    # Inventories keep milliseconds; everything else is the listing's own record.
    expected = [
        ObjectRecord(
            r.url,
            r.key,
            r.size,
            r.etag,
            r.last_modified.replace(microsecond=r.last_modified.microsecond // 1000 * 1000),
        )
        for r in listed
    ]
    assert records == expected  # one writer, so manifest order is the listing's order here


@pytest.mark.parametrize("file_format", FORMATS)
def test_odd_keys_survive_every_format_and_key_encoding(
    file_format: str, inv: LocalStore, source: LocalStore
) -> None:
    rows = [Row(key) for key in ODD_KEYS]
    write_s3_inventory(
        inv,
        rows,
        file_format=file_format,
        encode_key=lambda k: quote_plus(k, safe="/"),
    )
    assert [r.key for r in read(inv, source)] == ODD_KEYS
    assert [r.url for r in read(inv, source)] == [source.object_url(k) for k in ODD_KEYS]


@pytest.mark.parametrize("file_format", FORMATS)
def test_prefix_filter_is_a_plain_string_prefix(
    file_format: str, inv: LocalStore, source: LocalStore
) -> None:
    keys = ["data/p1/a.jpg", "data/p10/b.jpg", "data/p1", "other/data/p1/c.jpg", "data/p2/d.jpg"]
    write_s3_inventory(inv, [Row(k) for k in keys], file_format=file_format)
    stats = InventoryStats()
    inventory = open_inventory(folder_uri(inv), "s3")
    assert [r.key for r in inventory.records(source, "data/p1", bucket="source-bucket", stats=stats)] == keys[
        :3
    ]
    assert [r.key for r in inventory.records(source, "data/p1/", bucket="source-bucket")] == ["data/p1/a.jpg"]
    assert stats.skipped == {"outside_prefix": 2} and stats.rows_yielded == 3 and stats.rows_read == 5


@pytest.mark.parametrize("file_format", FORMATS)
def test_versioned_inventory_keeps_only_latest_live_versions(
    file_format: str, inv: LocalStore, source: LocalStore
) -> None:
    rows = [
        Row("a.jpg", version_id="v2", is_latest=True, is_delete_marker=False),
        Row("a.jpg", version_id="v1", is_latest=False, is_delete_marker=False),
        Row("gone.jpg", size=None, etag=None, version_id="v3", is_latest=True, is_delete_marker=True),
        Row("gone.jpg", version_id="v2", is_latest=False, is_delete_marker=False),
        Row("b.jpg", version_id="null", is_latest=True, is_delete_marker=False),
    ]
    write_s3_inventory(inv, rows, file_format=file_format, versioned=True)
    stats = InventoryStats()
    inventory = open_inventory(folder_uri(inv), "s3")
    assert [r.key for r in inventory.records(source, bucket="source-bucket", stats=stats)] == [
        "a.jpg",
        "b.jpg",
    ]
    assert stats.skipped == {"delete_marker": 1, "not_latest_version": 2}


def test_optional_fields_absent_give_empty_etag_and_snapshot_time(
    inv: LocalStore, source: LocalStore
) -> None:
    write_s3_inventory(inv, [Row("a.jpg")], fields=("Bucket", "Key", "Size"))
    (record,) = read(inv, source)
    assert record.etag == "" and record.last_modified == SNAPSHOT and record.size == 1024


def test_rows_of_another_bucket_are_skipped_and_counted(inv: LocalStore, source: LocalStore) -> None:
    write_s3_inventory(inv, [Row("a.jpg")])
    inventory = open_inventory(folder_uri(inv), "s3")
    inventory.manifest = replace(inventory.manifest, source_bucket=None)
    stats = InventoryStats()
    assert list(inventory.records(source, bucket="another", stats=stats)) == []
    assert stats.skipped == {"other_bucket": 1}


def test_an_inventory_of_another_bucket_is_refused(inv: LocalStore, source: LocalStore) -> None:
    write_s3_inventory(inv, [Row("a.jpg")])
    inventory = open_inventory(folder_uri(inv), "s3")
    with pytest.raises(InventoryError, match="lists bucket 'source-bucket', not the source 'media'"):
        list(inventory.records(source, bucket="media"))


def test_newest_finished_run_is_chosen(inv: LocalStore, source: LocalStore) -> None:
    write_s3_inventory(inv, [Row("old.jpg")], created=datetime(2024, 1, 1, tzinfo=UTC))
    write_s3_inventory(inv, [Row("new.jpg")], created=datetime(2024, 1, 3, tzinfo=UTC))
    write_s3_inventory(inv, [Row("unfinished.jpg")], created=datetime(2024, 1, 4, tzinfo=UTC), checksum=False)
    inv.write_bytes("inventories/source-bucket/daily/hive/dt=2024-01-05-00-00/symlink.txt", b"s3://x/y\n")
    inventory = open_inventory(folder_uri(inv), "s3")
    assert inventory.manifest.uri.endswith("/2024-01-03T00-00Z/manifest.json")
    assert [r.key for r in inventory.records(source, bucket="source-bucket")] == ["new.jpg"]
    unverified = open_inventory(folder_uri(inv), "s3", verify_checksums=False)
    assert unverified.manifest.uri.endswith("/2024-01-04T00-00Z/manifest.json")


def test_a_manifest_uri_opens_that_run(inv: LocalStore, source: LocalStore) -> None:
    key = write_s3_inventory(inv, [Row("old.jpg")], created=datetime(2024, 1, 1, tzinfo=UTC))
    write_s3_inventory(inv, [Row("new.jpg")], created=datetime(2024, 1, 3, tzinfo=UTC))
    inventory = open_inventory(f"file://{inv.bucket}/{key}", "s3")
    assert [r.key for r in inventory.records(source, bucket="source-bucket")] == ["old.jpg"]


def test_no_finished_run_is_an_error_naming_the_folder(inv: LocalStore) -> None:
    write_s3_inventory(inv, [Row("a.jpg")], checksum=False)
    with pytest.raises(InventoryError, match=r"/daily/?: no finished S3 inventory run here"):
        open_inventory(folder_uri(inv), "s3")


def test_a_copy_in_another_folder_resolves_its_data_files(tmp_path: Path, source: LocalStore) -> None:
    copy = LocalStore(tmp_path / "copy" / "of" / "bucket")
    write_s3_inventory(copy, [Row("a.jpg")], destination_prefix="deep/prefix")
    inventory = open_inventory(f"file://{copy.bucket}/deep/prefix/source-bucket/daily", "s3")
    assert inventory.files[0].key.startswith(copy.bucket.lstrip("/") + "/deep/prefix/")
    assert [r.key for r in inventory.records(source, bucket="source-bucket")] == ["a.jpg"]


def test_large_inventory_is_streamed_batch_by_batch(inv: LocalStore) -> None:
    """1M rows in 3 Parquet files go through 20 batches of 50k; peak memory is measured in bench/."""
    n_rows, batch_rows = 1_000_000, 50_000
    write_s3_parquet_synthetic(inv, n_rows, rows_per_file=400_000, row_group_rows=100_000)
    inventory = open_inventory(folder_uri(inv), "s3", batch_rows=batch_rows)
    source = S3Store("source-bucket", region="eu-west-1")  # builds URLs only; no request is sent
    stats = InventoryStats()
    prefix = "data/dt=2024-01-05/"  # keys i with i % 28 == 4
    records = inventory.records(source, prefix, stats=stats)
    first = list(itertools.islice(records, 2))
    assert [r.key for r in first] == [
        "data/dt=2024-01-05/cam4/img_0000000004.jpg",
        "data/dt=2024-01-05/cam4/img_0000000032.jpg",
    ]
    assert (
        first[0].url
        == "https://source-bucket.s3.eu-west-1.amazonaws.com/data/dt%3D2024-01-05/cam4/img_0000000004.jpg"
    )
    assert stats.rows_read == batch_rows and stats.files_read == 0  # one batch of one file read so far
    assert [r.size - 1000 for r in records] == list(range(4, n_rows, 28))[2:]
    assert stats.files_total == stats.files_read == 3
    assert stats.batches == n_rows // batch_rows and stats.max_batch_rows == batch_rows
    assert stats.rows_read == n_rows and stats.rows_yielded == len(range(4, n_rows, 28))
    assert stats.skipped == {"outside_prefix": n_rows - stats.rows_yielded}


def test_staleness_is_an_error_or_a_warning(inv: LocalStore, caplog: pytest.LogCaptureFixture) -> None:
    write_s3_inventory(inv, [Row("a.jpg")])
    inventory = open_inventory(folder_uri(inv), "s3")
    fresh = SNAPSHOT + timedelta(hours=47)
    assert check_freshness(inventory, timedelta(hours=48), now=fresh) == timedelta(hours=47)
    late = SNAPSHOT + timedelta(hours=49)
    with pytest.raises(
        StaleInventoryError,
        match=r"manifest.json: inventory snapshot of 2024-01-02T03:04:00\+00:00 is 49.0 h old",
    ):
        check_freshness(inventory, timedelta(hours=48), now=late)
    assert check_freshness(inventory, timedelta(hours=48), "warn", now=late) == timedelta(hours=49)
    assert "more than max_age_hours=48" in caplog.text


def test_empty_inventory_yields_nothing(inv: LocalStore, source: LocalStore) -> None:
    write_s3_inventory(inv, [])
    assert read(inv, source) == []


# --- malformed manifests ----------------------------------------------------------------------------------


def manifest_error(inv: LocalStore, edit: Any, **kwargs: Any) -> str:
    write_s3_inventory(inv, [Row("a.jpg")], manifest_edit=edit, **kwargs)
    with pytest.raises(InventoryError) as info:
        list(open_inventory(folder_uri(inv), "s3").records(LocalStore(inv.bucket), bucket="source-bucket"))
    return str(info.value)


def test_manifest_that_is_not_json_names_file_and_line(inv: LocalStore) -> None:
    message = manifest_error(inv, lambda m: b'{\n  "fileFormat": "CSV",\n  oops\n}')
    assert "2024-01-02T03-04Z/manifest.json, line 3: not valid JSON" in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda m: m.pop("fileSchema"), "manifest has no 'fileSchema' field"),
        (lambda m: m.update(fileFormat="JSON"), "fileFormat 'json' is not one of CSV, ORC, Parquet"),
        (
            lambda m: m.update(fileSchema="Bucket, Size, ETag"),
            "fileSchema lacks the required field(s) ['Key']",
        ),
        (lambda m: m.update(files=[{"size": 3}]), "files[0] must be an object with a non-empty 'key'"),
        (lambda m: m["files"][0].update(MD5checksum="xyz"), "files[0].MD5checksum must be 32 hex digits"),
        (lambda m: m.update(creationTimestamp="yesterday"), "creationTimestamp must be milliseconds"),
        (lambda m: m.update(files="all of them"), "manifest field 'files' must be list"),
        (
            lambda m: m["files"][0].update(key="nowhere/x.csv.gz"),
            "data file 'nowhere/x.csv.gz' listed in the manifest exists neither",
        ),
    ],
)
def test_malformed_manifest_fields_are_named(inv: LocalStore, edit: Any, expected: str) -> None:
    message = manifest_error(inv, edit)
    assert "manifest.json: " in message and expected in message


def test_manifest_checksum_mismatch(inv: LocalStore) -> None:
    key = write_s3_inventory(inv, [Row("a.jpg")])
    inv.write_bytes(key.replace("manifest.json", "manifest.checksum"), b"0" * 32)
    with pytest.raises(
        ChecksumMismatchError,
        match=r"manifest.checksum: manifest MD5 is [0-9a-f]{32}, checksum file says '0{32}'",
    ):
        open_inventory(folder_uri(inv), "s3")
    assert open_inventory(folder_uri(inv), "s3", verify_checksums=False).files


def test_data_file_md5_and_size_mismatch_name_the_data_file(inv: LocalStore, source: LocalStore) -> None:
    key = write_s3_inventory(inv, [Row("a.jpg")])
    data_key = json.loads(inv.read_bytes(key))["files"][0]["key"]
    original = inv.read_bytes(data_key)
    inv.write_bytes(data_key, original[:-1] + bytes([original[-1] ^ 1]))  # same size, other bytes
    with pytest.raises(
        ChecksumMismatchError, match=rf"{data_key}: data file MD5 is [0-9a-f]+, the manifest says"
    ):
        read(inv, source)
    inv.write_bytes(data_key, original + b"x")
    with pytest.raises(
        ChecksumMismatchError,
        match=rf"{data_key}: data file has {len(original) + 1} bytes, the manifest says {len(original)}",
    ):
        read(inv, source, verify_checksums=False)


def test_missing_data_file(inv: LocalStore, source: LocalStore) -> None:
    key = write_s3_inventory(inv, [Row("a.jpg")], rows_per_file=1)
    files = json.loads(inv.read_bytes(key))["files"]
    inventory = open_inventory(folder_uri(inv), "s3")
    Path(inv.bucket, files[0]["key"]).unlink()
    with pytest.raises(InventoryError, match="data file listed in the manifest does not exist"):
        list(inventory.records(source, bucket="source-bucket"))


# --- malformed data files ---------------------------------------------------------------------------------


def rewrite_csv(
    inv: LocalStore, lines: list[str | bytes], fields: tuple[str, ...] | None = None
) -> Inventory:
    """An inventory whose one CSV data file holds `lines` verbatim (the manifest's MD5 and size updated)."""

    def edit(manifest: dict[str, Any]) -> None:
        raw = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
        body = gzip.compress(raw)
        inv.write_bytes(manifest["files"][0]["key"], body)
        manifest["files"][0].update(size=len(body), MD5checksum=hashlib.md5(body).hexdigest())

    write_s3_inventory(inv, [Row("placeholder")], fields=fields, manifest_edit=edit)
    return open_inventory(folder_uri(inv), "s3")


GOOD = '"source-bucket","a.jpg","3","2024-01-01T00:00:00.000Z","etag","STANDARD"'


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('"source-bucket","b.jpg","3"', "line 3: expected 6 CSV fields, found 3"),
        (
            '"source-bucket","b.jpg","three","2024-01-01T00:00:00.000Z","e","STANDARD"',
            "data row 3: size 'three' is not a byte count",
        ),
        (
            '"source-bucket","b.jpg","-1","2024-01-01T00:00:00.000Z","e","STANDARD"',
            "data row 3: size -1 is negative",
        ),
        (
            '"source-bucket","b.jpg","3","last tuesday","e","STANDARD"',
            "data row 3: last-modified time 'last tuesday' is not a time",
        ),
        (
            '"source-bucket","b%zz.jpg","3","2024-01-01T00:00:00.000Z","e","STANDARD"',
            "data row 3: the object key is not URL-encoded properly",
        ),
        (
            '"source-bucket","b%C3.jpg","3","2024-01-01T00:00:00.000Z","e","STANDARD"',
            "data row 3: the object key is not URL-encoded properly",
        ),
        (
            '"source-bucket","","3","2024-01-01T00:00:00.000Z","e","STANDARD"',
            "data row 3: the object key is empty",
        ),
        (
            '"source-bucket","b.jpg","","2024-01-01T00:00:00.000Z","e","STANDARD"',
            "data row 3: the size is missing",
        ),
        (
            '"source-bucket","b.jpg","3","2024-01-01T00:00:00.000Z","e","STANDARD","extra"',
            "line 3: expected 6 CSV fields, found 7",
        ),
    ],
)
def test_malformed_csv_rows_name_file_and_row(
    inv: LocalStore, source: LocalStore, bad_line: str, expected: str
) -> None:
    inventory = rewrite_csv(inv, [GOOD, GOOD, bad_line, GOOD])
    with pytest.raises(InventoryError) as info:
        list(inventory.records(source, bucket="source-bucket"))
    assert ".csv.gz, " + expected in str(info.value)


def test_csv_that_is_not_utf8_names_the_line(inv: LocalStore, source: LocalStore) -> None:
    latin1 = b'"source-bucket","caf\xe9.jpg","3","2024-01-01T00:00:00.000Z","e","STANDARD"'
    inventory = rewrite_csv(inv, [GOOD, latin1, GOOD])
    with pytest.raises(InventoryError, match=r"\.csv\.gz, line 2: not UTF-8 text"):
        list(inventory.records(source, bucket="source-bucket"))


def test_empty_csv_data_file_is_an_empty_shard(inv: LocalStore, source: LocalStore) -> None:
    assert list(rewrite_csv(inv, []).records(source, bucket="source-bucket")) == []


def test_data_file_that_is_not_gzip_or_parquet(inv: LocalStore, source: LocalStore) -> None:
    key = write_s3_inventory(
        inv,
        [Row("a.jpg")],
        file_format="parquet",
        manifest_edit=lambda m: m["files"][0].update(size=None, MD5checksum=None),
    )
    data_key = json.loads(inv.read_bytes(key))["files"][0]["key"]
    inv.write_bytes(data_key, b"PAR1 but not really")
    with pytest.raises(InventoryError, match=r"\.parquet: not a readable Parquet file"):
        read(inv, source)


def test_data_file_without_the_key_column(inv: LocalStore, source: LocalStore) -> None:
    write_s3_inventory(
        inv,
        [Row("a.jpg")],
        file_format="parquet",
        fields=s3_fields(without=["Key"]),
        manifest_edit=lambda m: m.update(
            fileSchema=m["fileSchema"].replace(
                "required binary bucket (UTF8);", "required binary bucket (UTF8); required binary key (UTF8);"
            )
        ),
    )
    with pytest.raises(
        InventoryError, match=r"\.parquet: data file lacks the required column\(s\) \['key'\]"
    ):
        read(inv, source)


def test_modified_times_keep_milliseconds_in_every_format(inv: LocalStore, source: LocalStore) -> None:
    for number, file_format in enumerate(FORMATS):
        write_s3_inventory(inv, [Row("a.jpg")], file_format=file_format, config_id=f"c{number}")  # type: ignore[arg-type]
        (record,) = open_inventory(folder_uri(inv, f"c{number}"), "s3").records(
            source, bucket="source-bucket"
        )
        assert record.last_modified == MODIFIED and record.last_modified.utcoffset() == timedelta(0)

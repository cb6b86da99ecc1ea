"""`source.listing`: parse-time checks, and `open_listing` choosing LIST or the inventory."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from encord_provider.config import PipelinesConfigError, parse_pipelines
from encord_provider.config.ingest import IngestPipeline
from encord_provider.storage.inventory import InventoryStats, StaleInventoryError
from encord_provider.storage.listing import open_listing
from encord_provider.storage.local import LocalStore

from tests.inventory_files import SNAPSHOT, Row, write_s3_inventory

PIPELINE = """
pipelines:
  - name: demo
    source:
      cloud: {cloud}
      bucket: source-bucket
      prefix: data/
{listing}
    integration: {{title: demo-aws}}
    folder: {{name: Demo folder}}
    staging: {{uri: "s3://staging/encord/"}}
"""


def pipeline(listing: str = "", cloud: str = "s3") -> IngestPipeline:
    return parse_pipelines(PIPELINE.format(cloud=cloud, listing=listing), "pipelines.yaml").pipelines[0]


def error(listing: str, cloud: str = "s3") -> str:
    with pytest.raises(PipelinesConfigError) as info:
        pipeline(listing, cloud)
    return str(info.value)


def test_default_is_list() -> None:
    assert pipeline().source.listing.mode == "list" and pipeline().source.listing.inventory is None
    assert pipeline().source.listing.key_ordered


def test_inventory_settings_and_defaults() -> None:
    listing = pipeline(
        "      listing: {mode: inventory, inventory: {uri: 's3://inv/inventories/source-bucket/daily/'}}"
    ).source.listing
    assert listing.inventory is not None
    assert listing.inventory.uri == "s3://inv/inventories/source-bucket/daily/"
    assert listing.inventory.format is None and listing.inventory.max_age_hours == 48
    assert listing.inventory.on_stale == "error" and listing.inventory.verify_checksums
    assert not listing.key_ordered  # manifest order: a manifest build must sort on disk


@pytest.mark.parametrize(
    ("listing", "cloud", "expected"),
    [
        ("      listing: {mode: inventory}", "s3", "mode 'inventory' needs an 'inventory' section"),
        (
            "      listing: {inventory: {uri: 's3://inv/x/'}}",
            "s3",
            "'inventory' is only used with mode 'inventory'",
        ),
        (
            "      listing: {mode: crawl}",
            "s3",
            "pipelines[0].source.listing.mode: Input should be 'list' or 'inventory'",
        ),
        (
            "      listing: {mode: inventory, inventory: {uri: 'inv/x/'}}",
            "s3",
            "inventory uri 'inv/x/' must look like",
        ),
        (
            "      listing: {mode: inventory, inventory: {uri: 'http://x/y'}}",
            "s3",
            "inventory uri 'http://x/y' must look like",
        ),
        (
            "      listing: {mode: inventory, inventory: {uri: 's3://inv-bucket/x', format: gcs}}",
            "s3",
            "inventory format 'gcs' does not match the source cloud 's3'",
        ),
        (
            "      listing: {mode: inventory, inventory: {uri: 's3://inv-bucket/x', rule: r1}}",
            "s3",
            "'rule' is only used with Azure inventories",
        ),
        (
            "      listing: {mode: inventory, inventory: {uri: 's3://inv-bucket/x', max_age_hours: 0}}",
            "s3",
            "max_age_hours: Input should be greater than 0",
        ),
        (
            "      listing: {mode: inventory, inventory: {uri: 's3://inv-bucket/x', on_stale: ignore}}",
            "s3",
            "on_stale: Input should be 'error' or 'warn'",
        ),
        (
            "      listing: {mode: inventory, inventory: {uri: 's3://inv-bucket/x', formt: s3}}",
            "s3",
            "inventory.formt: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_listing_config_is_named(listing: str, cloud: str, expected: str) -> None:
    message = error(listing, cloud)
    assert "pipelines.yaml:" in message and expected in message


def test_azure_rule_is_accepted_for_azure_sources() -> None:
    listing = pipeline(
        "      listing: {mode: inventory, inventory: {uri: 'az://inv/', rule: daily}}", "azure"
    ).source.listing
    assert listing.inventory is not None and listing.inventory.rule == "daily"


def test_open_listing_lists_the_bucket_in_list_mode(tmp_path: Path) -> None:
    source = LocalStore(tmp_path / "src")
    for key in ["data/b.jpg", "data/a.jpg", "other/c.jpg"]:
        source.write_bytes(key, b"x")
    assert [r.key for r in open_listing(pipeline(), source)] == ["data/a.jpg", "data/b.jpg"]
    assert [r.key for r in open_listing(pipeline(), source, "other/")] == ["other/c.jpg"]


def test_open_listing_reads_the_inventory_in_inventory_mode(tmp_path: Path) -> None:
    inv, source = LocalStore(tmp_path / "inv"), LocalStore(tmp_path / "src")
    write_s3_inventory(inv, [Row("data/b.jpg"), Row("data/a.jpg"), Row("other/c.jpg")])
    listing = f"      listing: {{mode: inventory, inventory: {{uri: 'file://{inv.bucket}/inventories/source-bucket/daily/'}}}}"
    configured = pipeline(listing)
    stats = InventoryStats()
    records = open_listing(configured, source, stats=stats, now=SNAPSHOT + timedelta(hours=2))
    assert [r.key for r in records] == ["data/b.jpg", "data/a.jpg"]  # manifest order, not key order
    assert stats.age_hours == 2.0 and stats.skipped == {"outside_prefix": 1}
    assert [r.key for r in open_listing(configured, source, "other/", now=SNAPSHOT)] == ["other/c.jpg"]
    with pytest.raises(StaleInventoryError, match="is 49.0 h old"):
        open_listing(configured, source, now=SNAPSHOT + timedelta(hours=49))  # raised before any record
    warned = pipeline(listing.replace("daily/'", "daily/', on_stale: warn, max_age_hours: 1"))
    assert len(list(itertools.islice(open_listing(warned, source, now=SNAPSHOT + timedelta(days=9)), 5))) == 2


def test_inventory_records_feed_the_manifest_builder_sorted_on_disk(tmp_path: Path) -> None:
    """What the plan step does with them: manifest order needs `input_order=ANY`; SORTED refuses it."""
    from encord_provider.manifests import InputOrder, LocalDirSink, ManifestConfig, build_manifests
    from encord_provider.manifests.ordering import UnorderedInputError

    inv, source = LocalStore(tmp_path / "inv"), LocalStore(tmp_path / "src")
    write_s3_inventory(inv, [Row("data/b.jpg"), Row("data/a.jpg"), Row("data/c.mp4")])
    uri = f"file://{inv.bucket}/inventories/source-bucket/daily/"
    configured = pipeline(f"      listing: {{mode: inventory, inventory: {{uri: '{uri}'}}}}")
    order = InputOrder.SORTED if configured.source.listing.key_ordered else InputOrder.ANY
    records = open_listing(configured, source, now=SNAPSHOT)
    summary = build_manifests(records, ManifestConfig(input_order=order), LocalDirSink(tmp_path / "out"))
    assert summary.n_registered_objects == 3
    with pytest.raises(UnorderedInputError, match="keys out of order"):
        build_manifests(
            open_listing(configured, source, now=SNAPSHOT), ManifestConfig(), LocalDirSink(tmp_path / "x")
        )

"""Version semantics: manifest/_SUCCESS/latest, incrementals, full every N, reruns, crashes mid-export."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from encord_provider.exports.model import ExportError, ExportFilters, Manifest
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.synthetic import EPOCH, GeneratedLabelSource, synthetic_label_row
from encord_provider.exports.versions import VersionLayout

from tests.unit.test_exports_support import CrashingStore, InjectedCrash, MemoryStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class EditableSource(GeneratedLabelSource):
    """Rows whose edit times a test can bump, as annotators would."""

    def __init__(self, count: int) -> None:
        self.edits = {i: EPOCH + timedelta(seconds=i) for i in range(count)}
        super().__init__(count, edited_at=lambda i: self.edits[i])

    def edit(self, *indexes: int, at: datetime) -> None:
        for index in indexes:
            self.edits[index] = at


def _spec(**kw: object) -> ExportSpec:
    base = {"project": "cats", "project_hash": "p-1", "base_prefix": "exports", "full_snapshot_every": 3}
    return ExportSpec(**{**base, **kw})  # type: ignore[arg-type]


def _manifest(store: MemoryStore, version: str) -> Manifest:
    return Manifest.model_validate_json(store.objects[f"exports/cats/{version}/manifest.json"])


def test_first_version_is_full_with_manifest_success_and_latest() -> None:
    store, source = MemoryStore(), EditableSource(4)
    result = export_labels(store, source, _spec(formats=("json", "coco", "parquet", "csv")), now=NOW)
    assert (
        result.status == "written" and result.kind == "full" and result.version == "v00001_20260301T120000Z"
    )
    prefix = f"exports/cats/{result.version}/"
    assert result.uri == f"s3://warehouse/{prefix.rstrip('/')}"
    written = [k for k in store.writes if k.startswith(prefix)]
    assert written[-2:] == [prefix + "manifest.json", prefix + "_SUCCESS"], "manifest then _SUCCESS last"
    assert store.writes[-1] == "exports/cats/latest"
    manifest = _manifest(store, result.version)
    names = {f.path for f in manifest.files}
    assert names == {
        "labels-00000.jsonl",
        "coco.json",
        "labels.parquet",
        "labels.csv",
        "source_rows.csv",
        "membership.csv.gz",
    }
    for entry in manifest.files:
        data = store.objects[prefix + entry.path]
        assert entry.bytes == len(data) and entry.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.counts["label_rows"] == 4 and manifest.counts["coco_annotations"] == 20
    assert (
        manifest.source_rows == 4
        and manifest.previous_version is None
        and manifest.base_version == result.version
    )
    assert manifest.high_water_mark == EPOCH + timedelta(seconds=3)
    marker = json.loads(store.objects[prefix + "_SUCCESS"])
    assert marker["manifest_sha256"] == hashlib.sha256(store.objects[prefix + "manifest.json"]).hexdigest()
    assert json.loads(store.objects["exports/cats/latest"])["version"] == result.version


def test_rerun_of_same_interval_writes_nothing() -> None:
    store, source = MemoryStore(), EditableSource(3)
    first = export_labels(store, source, _spec(), now=NOW)
    writes = len(store.writes)
    again = export_labels(store, source, _spec(), now=NOW + timedelta(hours=1))
    assert again.status == "unchanged" and again.previous_version == first.version
    assert len(store.writes) == writes


def test_same_run_key_reuses_the_version_even_after_edits() -> None:
    store, source = MemoryStore(), EditableSource(3)
    first = export_labels(store, source, _spec(run_key="scheduled__2026-03-01"), now=NOW)
    source.edit(0, at=NOW)
    again = export_labels(store, source, _spec(run_key="scheduled__2026-03-01"), now=NOW + timedelta(hours=1))
    assert again.status == "reused" and again.version == first.version
    assert len(store.keys("/_SUCCESS")) == 1


def test_incremental_contains_only_rows_edited_since_high_water_mark() -> None:
    store, source = MemoryStore(), EditableSource(5)
    first = export_labels(store, source, _spec(), now=NOW)
    source.edit(1, 3, at=NOW + timedelta(minutes=5))
    source.fetched.clear()
    second = export_labels(store, source, _spec(), now=NOW + timedelta(hours=1))
    assert second.status == "written" and second.kind == "incremental"
    assert sorted(source.fetched) == [1, 3]
    manifest = _manifest(store, second.version or "")
    assert manifest.previous_version == first.version and manifest.base_version == first.version
    assert manifest.counts["label_rows"] == 2 and manifest.high_water_mark == NOW + timedelta(minutes=5)
    lines = store.objects[f"exports/cats/{second.version}/labels-00000.jsonl"].decode().splitlines()
    assert {json.loads(line)["label_hash"] for line in lines} == {
        synthetic_label_row(1)["label_hash"],
        synthetic_label_row(3)["label_hash"],
    }


def test_edit_in_the_same_second_as_high_water_mark_is_not_lost() -> None:
    store, source = MemoryStore(), EditableSource(3)
    export_labels(store, source, _spec(), now=NOW)
    mark = EPOCH + timedelta(
        seconds=2
    )  # row 2 was exported at the mark; row 0 now edited in that same second
    source.edit(0, at=mark)
    second = export_labels(store, source, _spec(), now=NOW + timedelta(hours=1))
    assert second.status == "written" and second.counts["label_rows"] == 1
    assert export_labels(store, source, _spec(), now=NOW + timedelta(hours=2)).status == "unchanged"


def test_full_snapshot_every_n_versions() -> None:
    store, source = MemoryStore(), EditableSource(4)
    kinds = []
    for step in range(5):
        source.edit(step % 4, at=NOW + timedelta(minutes=step))
        result = export_labels(store, source, _spec(), now=NOW + timedelta(hours=step))
        kinds.append((result.kind, result.counts["label_rows"]))
    assert kinds == [("full", 4), ("incremental", 1), ("incremental", 1), ("full", 4), ("incremental", 1)]
    manifests = [Manifest.model_validate_json(store.objects[k]) for k in store.keys("manifest.json")]
    assert [m.number for m in manifests] == [1, 2, 3, 4, 5]
    assert manifests[4].base_version == manifests[3].version


def test_changed_filters_force_a_full_snapshot() -> None:
    store, source = MemoryStore(), EditableSource(3)
    export_labels(store, source, _spec(), now=NOW)
    result = export_labels(
        store, source, _spec(filters=ExportFilters(stage="Complete")), now=NOW + timedelta(hours=1)
    )
    assert result.status == "written" and result.kind == "full"


def test_forced_full_is_skipped_only_when_identical_to_previous_full() -> None:
    store, source = MemoryStore(), EditableSource(3)
    export_labels(store, source, _spec(), now=NOW)
    forced = export_labels(store, source, _spec(force_full=True), now=NOW + timedelta(hours=1))
    assert forced.status == "unchanged"
    source.edit(2, at=NOW)
    forced = export_labels(store, source, _spec(force_full=True), now=NOW + timedelta(hours=2))
    assert forced.status == "written" and forced.kind == "full" and forced.counts["label_rows"] == 3


@pytest.mark.parametrize("crash_on", ["coco.json", "labels.parquet", "manifest.json", "_SUCCESS"])
def test_crash_mid_export_leaves_no_complete_version(crash_on: str) -> None:
    store, source = MemoryStore(), EditableSource(3)
    first = export_labels(store, source, _spec(), now=NOW)
    source.edit(0, at=NOW)
    with pytest.raises(InjectedCrash):
        export_labels(CrashingStore(store, crash_on), source, _spec(), now=NOW + timedelta(hours=1))
    assert len(store.keys("/_SUCCESS")) == 1, "the broken version has no _SUCCESS"
    assert VersionLayout(store, "exports", "cats").latest_manifest().version == first.version  # type: ignore[union-attr]
    assert json.loads(store.objects["exports/cats/latest"])["version"] == first.version
    retry = export_labels(store, source, _spec(), now=NOW + timedelta(hours=2))
    assert retry.status == "written" and retry.counts["label_rows"] == 1
    assert _manifest(store, retry.version or "").number == 2


def test_crash_between_success_and_latest_pointer_loses_nothing() -> None:
    store, source = MemoryStore(), EditableSource(3)
    export_labels(store, source, _spec(), now=NOW)
    source.edit(1, at=NOW)
    with pytest.raises(InjectedCrash):
        export_labels(CrashingStore(store, "/latest"), source, _spec(), now=NOW + timedelta(hours=1))
    assert len(store.keys("/_SUCCESS")) == 2
    again = export_labels(store, source, _spec(), now=NOW + timedelta(hours=2))
    assert (
        again.status == "unchanged" and again.previous_version and again.previous_version.startswith("v00002")
    )


def test_manual_version_name_must_be_new_and_a_folder_name() -> None:
    store, source = MemoryStore(), EditableSource(2)
    export_labels(store, source, _spec(version_name="release-1"), now=NOW)
    source.edit(0, at=NOW)
    with pytest.raises(ExportError, match="already exists"):
        export_labels(store, source, _spec(version_name="release-1"), now=NOW)
    with pytest.raises(ExportError, match="folder name"):
        export_labels(store, source, _spec(version_name="a/b"), now=NOW)

"""Stage filter + incremental versions: rows entering the stage without a label edit are exported, rows
leaving it are reported, and the previous membership is streamed, not loaded whole."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from encord_provider.exports.membership import (
    MEMBERSHIP,
    compare,
    read_all,
    read_membership,
    sorted_refs,
    write_membership,
)
from encord_provider.exports.model import ExportFilters, Manifest, RowRef
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.synthetic import EPOCH, synthetic_label_row

from tests.unit.test_exports_support import MemoryStore
from tests.unit.test_exports_versions import EditableSource

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STAGE = ExportFilters(stage="Complete")


class StagedSource(EditableSource):
    """Rows that sit in workflow stages; moving a row does not edit its labels (as in Encord)."""

    def __init__(self, count: int, stage: str = "Annotate") -> None:
        super().__init__(count)
        self.stage_of = dict.fromkeys(range(count), stage)

    def move(self, *indexes: int, to: str) -> None:
        for index in indexes:
            self.stage_of[index] = to

    def list_rows(self, filters: ExportFilters) -> Iterator[RowRef]:
        wanted = {
            synthetic_label_row(i)["label_hash"]
            for i, stage in self.stage_of.items()
            if not filters.stage or stage == filters.stage
        }
        return (ref for ref in super().list_rows(filters) if ref.label_hash in wanted)


def _spec(**kw: object) -> ExportSpec:
    base = {"project": "cats", "project_hash": "p-1", "base_prefix": "exports", "filters": STAGE,
            "full_snapshot_every": 100}  # fmt: skip
    return ExportSpec(**{**base, **kw})  # type: ignore[arg-type]


def _label(index: int) -> str:
    return str(synthetic_label_row(index)["label_hash"])


def _left_rows(store: MemoryStore, version: str) -> list[str]:
    text = store.objects[f"exports/cats/{version}/left_rows.csv"].decode()
    return [row["label_hash"] for row in csv.DictReader(io.StringIO(text))]


def test_row_entering_the_stage_without_an_edit_is_in_the_next_incremental() -> None:
    store, source = MemoryStore(), StagedSource(5)
    source.move(0, 1, to="Complete")
    first = export_labels(store, source, _spec(), now=NOW)
    assert first.counts["label_rows"] == 2
    source.move(3, to="Complete")  # reviewed and approved: its labels were last edited long ago
    source.fetched.clear()
    second = export_labels(store, source, _spec(), now=NOW + timedelta(hours=1))
    assert second.status == "written" and second.kind == "incremental"
    assert source.fetched == [3]
    assert second.counts["rows_entered"] == 1 and second.counts["rows_left"] == 0
    assert second.counts["member_rows"] == 3
    members = read_all(store.objects[f"exports/cats/{second.version}/{MEMBERSHIP}"])
    assert [label for label, _ in members] == sorted(_label(i) for i in (0, 1, 3))


def test_row_leaving_the_stage_is_reported_even_when_nothing_else_changed() -> None:
    store, source = MemoryStore(), StagedSource(4)
    source.move(0, 1, 2, to="Complete")
    export_labels(store, source, _spec(), now=NOW)
    source.move(1, to="Annotate")  # reopened
    source.fetched.clear()
    second = export_labels(store, source, _spec(), now=NOW + timedelta(hours=1))
    assert second.status == "written" and source.fetched == []
    assert second.counts["label_rows"] == 0 and second.counts["rows_left"] == 1
    assert _left_rows(store, second.version or "") == [_label(1)]
    third = export_labels(store, source, _spec(), now=NOW + timedelta(hours=2))
    assert third.status == "unchanged" and "entering or leaving" in third.reason


def test_edits_inside_the_stage_are_still_picked_up() -> None:
    store, source = MemoryStore(), StagedSource(3, stage="Complete")
    export_labels(store, source, _spec(), now=NOW)
    source.edit(2, at=NOW)
    source.fetched.clear()
    second = export_labels(store, source, _spec(), now=NOW + timedelta(hours=1))
    assert source.fetched == [2] and second.counts["rows_entered"] == 0


def test_version_without_membership_record_forces_a_full_snapshot() -> None:
    store, source = MemoryStore(), StagedSource(3, stage="Complete")
    first = export_labels(store, source, _spec(), now=NOW)
    key = f"exports/cats/{first.version}/manifest.json"
    manifest = Manifest.model_validate_json(store.objects[key])
    legacy = manifest.model_copy(update={"files": [f for f in manifest.files if f.path != MEMBERSHIP]})
    store.objects[key] = legacy.to_json_bytes()  # as written before membership tracking existed
    source.edit(0, at=NOW)
    second = export_labels(store, source, _spec(), now=NOW + timedelta(hours=1))
    assert second.kind == "full" and second.counts["label_rows"] == 3


def test_coco_option_change_forces_a_full_snapshot() -> None:
    from encord_provider.exports.model import CocoOptions

    store, source = MemoryStore(), StagedSource(3, stage="Complete")
    export_labels(store, source, _spec(), now=NOW)
    second = export_labels(
        store, source, _spec(coco=CocoOptions(mask_iscrowd=True)), now=NOW + timedelta(hours=1)
    )
    assert second.status == "written" and second.kind == "full"


def _refs(labels: Sequence[str]) -> list[RowRef]:
    return sorted_refs(RowRef(label, f"d-{label}", EPOCH) for label in labels)


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[int] = []

    def read_bytes(self, key: str) -> bytes:
        raise AssertionError(f"{key} must be read in ranges, not whole")

    def read_range(self, key: str, start: int, length: int) -> bytes:
        self.ranges.append(length)
        return super().read_range(key, start, length)


def test_membership_file_is_streamed_in_chunks(tmp_path: object) -> None:
    from pathlib import Path

    labels = [f"{i:08x}-label" for i in range(5000)]
    path = write_membership(Path(str(tmp_path)) / MEMBERSHIP, _refs(labels))
    store = CountingStore()
    store.objects["m"] = path.read_bytes()
    members = list(read_membership(store, "m", len(store.objects["m"]), chunk=1024))
    assert [label for label, _ in members] == sorted(labels)
    assert len(store.ranges) > 5 and max(store.ranges) <= 1024


def test_sorted_merge_matches_set_difference() -> None:
    rng = random.Random(7)
    universe = [f"{rng.getrandbits(64):016x}" for _ in range(400)]
    for _ in range(20):
        before = set(rng.sample(universe, 150))
        after = set(rng.sample(universe, 150))
        out = io.StringIO()
        change = compare(_refs(sorted(after)), ((label, "d") for label in sorted(before)), out)
        assert {ref.label_hash for ref in change.entered} == after - before
        left = [row["label_hash"] for row in csv.DictReader(io.StringIO(out.getvalue()))]
        assert set(left) == before - after and change.left == len(left)

"""The streaming export: the on-disk sort, ordered parallel pages, the one-pass selection, and that an export's
output and memory do not depend on how the source pages, orders or repeats its listing."""

from __future__ import annotations

import csv
import io
import json
import random
import threading
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from encord_provider.encord_api.label_rows import RowListing
from encord_provider.exports import spool
from encord_provider.exports.digest import source_digest
from encord_provider.exports.membership import compare, sorted_refs
from encord_provider.exports.model import ExportFilters, Manifest, RowRef
from encord_provider.exports.pages import batched, ordered_map
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.selection import is_new, read_selected, select_rows, unique_refs
from encord_provider.exports.source import SdkLabelSource
from encord_provider.exports.spool import SortedSpool
from encord_provider.exports.synthetic import EPOCH, synthetic_label_row, synthetic_ontology

from tests.unit.test_exports_support import MemoryStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_sorted_spool_merges_its_runs_in_order(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows = [(f"{rng.getrandbits(20):05x}", str(rng.randint(0, 9)), 'x,\n"y"') for _ in range(2_345)]
    sorter = SortedSpool(tmp_path, "t", run_rows=100)
    for row in rows:
        sorter.add(row)
    assert len(list(tmp_path.glob("t-run*.csv"))) == 23, "full buffers spill to run files"
    assert list(sorter.sorted()) == sorted(rows), "duplicates kept, commas/quotes/newlines survive"
    sorter.remove()
    assert not list(tmp_path.glob("t-run*.csv"))


def test_sorted_spool_small_enough_never_touches_disk(tmp_path: Path) -> None:
    sorter = SortedSpool(tmp_path, "t", run_rows=10)
    for key in "cab":
        sorter.add((key,))
    assert list(sorter.sorted()) == [("a",), ("b",), ("c",)] and not list(tmp_path.iterdir())


def test_batched() -> None:
    assert list(batched(range(5), 2)) == [[0, 1], [2, 3], [4]] and list(batched([], 3)) == []
    with pytest.raises(ValueError):
        list(batched([1], 0))


def test_ordered_map_keeps_input_order_and_reads_at_most_workers_plus_one_ahead() -> None:
    taken: list[int] = []
    gaps: list[int] = []

    def items() -> Iterator[int]:
        for item in range(40):
            taken.append(item)
            yield item

    def slow(item: int) -> int:
        time.sleep(random.random() / 200)
        return item * 10

    for result in ordered_map(slow, items(), workers=3):
        gaps.append(len(taken) - result // 10)
    assert max(gaps) <= 4, "never more than workers + 1 items taken ahead of the one consumed"


def test_ordered_map_raises_the_first_failure_in_input_order_and_stops() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def fn(item: int) -> int:
        with lock:
            started.append(item)
        if item == 5:
            raise ValueError("page 5 failed")
        return item

    results = []
    with pytest.raises(ValueError, match="page 5"):
        for result in ordered_map(fn, range(1_000), workers=2):
            results.append(result)
    assert results == [0, 1, 2, 3, 4] and len(started) < 20


def _ref(label: str, seconds: int | None) -> RowRef:
    return RowRef(label, f"d-{label}", EPOCH + timedelta(seconds=seconds) if seconds is not None else None)


def test_unique_refs_keeps_the_latest_listing_of_a_row() -> None:
    rows = sorted(r.to_row() for r in [_ref("a", 1), _ref("a", 5), _ref("b", None), _ref("a", 3)])
    assert list(unique_refs(rows)) == [_ref("a", 5), _ref("b", None)]


def _previous(mark: int, boundary: list[str]) -> Manifest:
    return Manifest.model_validate({
        "project": "p", "project_hash": "h", "version": "v1", "number": 1, "kind": "full",
        "created_at": NOW, "previous_version": None, "base_version": "v1", "filters": {},
        "edited_after": None, "high_water_mark": EPOCH + timedelta(seconds=mark), "boundary_rows": boundary,
        "source_rows": 0, "source_digest": "", "counts": {}, "files": [],
    })  # fmt: skip


def test_one_pass_selection_matches_the_in_memory_rules(tmp_path: Path) -> None:
    rng = random.Random(11)
    for trial in range(15):
        listed = sorted_refs(
            _ref(f"{rng.getrandbits(16):04x}", rng.choice([None, *range(8)])) for _ in range(60)
        )
        before = sorted(
            {f"{rng.getrandbits(16):04x}" for _ in range(40)} | {r.label_hash for r in listed[:20]}
        )
        previous = _previous(
            4, [r.fingerprint() for r in listed if r.last_edited_at == EPOCH + timedelta(seconds=4)][:1]
        )
        workdir = tmp_path / str(trial)
        workdir.mkdir()
        members = [(label, "d") for label in before]
        selection = select_rows(iter(listed), "incremental", previous, iter(members), workdir)
        change = compare(listed, members, io.StringIO())
        entered = {r.label_hash for r in change.entered}
        boundary = frozenset(previous.boundary_rows)
        expected = [r for r in listed if r.label_hash in entered or is_new(r, previous, boundary)]
        assert list(read_selected(selection.files["source_rows.csv"])) == expected
        assert (selection.selected, selection.members) == (len(expected), len(listed))
        assert (selection.entered, selection.left) == (len(change.entered), change.left)
        assert selection.digest == source_digest(r.fingerprint() for r in expected)
        left = list(csv.DictReader(selection.files["left_rows.csv"].open()))
        assert len(left) == change.left


class ShuffledSource:
    """Synthetic rows listed in a random order, in pages of random size, some listed twice."""

    def __init__(
        self, count: int, seed: int, page_size: int = 7, workers: int = 3, tiny: bool = False
    ) -> None:
        self.count = count
        self.tiny = tiny
        self.rng = random.Random(seed)
        self.page_size = page_size
        self.workers = workers
        self.edits: dict[int, datetime] = {}

    def ontology(self) -> dict[str, Any]:
        return synthetic_ontology()

    def _edited(self, index: int) -> datetime:
        return self.edits.get(index, EPOCH + timedelta(seconds=index))

    def _ref(self, index: int) -> RowRef:
        return RowRef(f"label-{index:08d}", f"data-{index:08d}", self._edited(index))

    def list_pages(self, filters: ExportFilters) -> Iterator[list[RowRef]]:
        order = list(range(self.count)) + self.rng.sample(range(self.count), self.count // 10)
        self.rng.shuffle(order)
        while order:
            size = self.rng.randint(1, 2 * self.page_size)
            page, order = order[:size], order[size:]
            yield [self._ref(index) for index in page]

    def fetch(self, refs: Sequence[RowRef], filters: ExportFilters) -> list[dict[str, Any]]:
        rows = []
        for ref in refs:
            index = int(ref.label_hash.split("-")[1])
            if self.tiny:
                rows.append({"label_hash": ref.label_hash, "data_hash": ref.data_hash, "data_units": {}})
                continue
            row = synthetic_label_row(index, self._edited(index), with_mask=False)
            rows.append({**row, "label_hash": ref.label_hash, "data_hash": ref.data_hash})
        return rows


def _spec(**kw: Any) -> ExportSpec:
    base = {"project": "p", "project_hash": "h", "base_prefix": "x", "formats": ("json", "coco", "parquet")}
    return ExportSpec(**{**base, **kw})


def _version_files(store: MemoryStore, version: str | None) -> dict[str, bytes]:
    prefix = f"x/p/{version}/"
    return {
        k[len(prefix) :]: v for k, v in store.objects.items() if k.startswith(prefix) and "manifest" not in k
    }


def test_output_does_not_depend_on_listing_order_paging_or_repeats() -> None:
    outputs = []
    for seed in (1, 2):
        store = MemoryStore()
        source = ShuffledSource(300, seed)
        first = export_labels(store, source, _spec(), now=NOW)
        source.edits = {i: EPOCH + timedelta(days=1) for i in range(0, 300, 7)}
        second = export_labels(store, source, _spec(), now=NOW + timedelta(hours=1))
        assert first.counts["label_rows"] == 300 and second.counts["label_rows"] == 43
        outputs.append((_version_files(store, first.version), _version_files(store, second.version)))
    assert outputs[0] == outputs[1], "byte-identical versions"
    lines = outputs[0][0]["labels-00000.jsonl"].decode().splitlines()
    labels = [json.loads(line)["label_hash"] for line in lines]
    assert labels == sorted(labels), "written in label-hash order"


def test_sort_and_selection_memory_is_bounded_by_a_run_not_by_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "RUN_ROWS", 1_000)
    monkeypatch.setattr(spool, "MAX_FAN_IN", 4)

    def peak(count: int) -> int:
        workdir = tmp_path / str(count)
        workdir.mkdir()
        tracemalloc.start()
        listed = SortedSpool(workdir, "listed")
        for i in range(count):  # a listing in scrambled order, every row edited at its own instant
            listed.add(RowRef(f"l{i * 7919 % count:08d}", f"d{i}", EPOCH + timedelta(seconds=i)).to_row())
        selection = select_rows(unique_refs(listed.sorted()), "full", None, None, workdir)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert selection.selected == count
        return top

    small, large = peak(6_000), peak(36_000)
    assert large < small * 1.2, f"peak traced memory {small} B at 6,000 rows, {large} B at 36,000"


def test_many_runs_are_merged_a_few_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool, "MAX_FAN_IN", 3)
    rows = [(f"{i * 37 % 1000:04d}",) for i in range(1000)]
    sorter = SortedSpool(tmp_path, "t", run_rows=50)
    for row in rows:
        sorter.add(row)
    assert list(sorter.sorted()) == sorted(rows)
    assert len(list(tmp_path.glob("t-run*.csv"))) <= 3


class _FakeRow(SimpleNamespace):
    """A listed row: identity, edit time and the fields the SDK renders from the listing."""

    is_shadow_data = False
    duration: float | None = None
    fps: float | None = 29.97

    def get_spaces(self) -> list[Any]:
        return []


def test_sdk_source_without_a_workflow_lists_in_one_call() -> None:
    from encord.orm.project import ProjectType

    calls: list[dict[str, Any]] = []

    def list_label_rows_v2(**kw: Any) -> list[_FakeRow]:
        calls.append(kw)
        return [_FakeRow(label_hash=None if i == 2 else f"l{i}", data_hash=f"d{i}", last_edited_at=EPOCH)
                for i in range(5)]  # fmt: skip

    project = SimpleNamespace(project_type=ProjectType.MANUAL_QA, list_label_rows_v2=list_label_rows_v2)
    source = SdkLabelSource(project, bundle_size=2)  # type: ignore[arg-type]
    pages = list(source.list_pages(ExportFilters(stage="Review")))
    assert [[r.label_hash for r in page] for page in pages] == [["l0", "l1"], ["l3", "l4"]]
    assert calls == [{"workflow_graph_node_title_eq": "Review"}]
    # What the fetch renders from the listing travels with each ref (no second listing call).
    assert {r.listing for page in pages for r in page} == {RowListing(False, None, 29.97, False).encode()}
    assert RowListing.decode(pages[0][0].listing) == RowListing(False, None, 29.97, False)

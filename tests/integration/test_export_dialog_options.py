"""The Legacy export dialog's label-status filter and "all data units" choice, through the real SDK against
the emulator: the workflow project's rows are filtered by the server (task statuses), unlabelled data units
are exported with empty labels and no label row is created for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from encord.objects import LabelRowV2
from encord.project import Project
from encord_emulator.testing import EmulatorProcess
from encord_provider.exports.jsonl import read_jsonl
from encord_provider.exports.label_status import UNLABELLED_PREFIX
from encord_provider.exports.model import ExportFilters
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.source import SdkLabelSource
from encord_provider.storage.local import LocalStore

from tests.emulator.test_projects_helpers import World, build_world
from tests.integration.test_export_sdk_paging import CountingProject
from tests.lineage_fixtures import hook_lineage, lineage_uris

__all__ = ["hook_lineage"]  # the fixture, imported for pytest

IMAGES = 6
LABELLED = ("img000.png", "img001.png", "img002.png", "img003.png")
COMPLETED = "img001.png"


@pytest.fixture
def world(encord_emulator: EmulatorProcess, moto_endpoint: str) -> World:
    """Six images: four with label rows (one of them Complete), two never labelled."""
    world = build_world(encord_emulator.client(), encord_emulator, moto_endpoint, images=IMAGES)
    rows = {row.data_title: row for row in world.project().list_label_rows_v2()}
    with world.project().create_bundle() as bundle:
        for title in LABELLED:
            rows[title].initialise_labels(bundle=bundle)
    rows[COMPLETED].workflow_complete()
    return world


@pytest.fixture
def project(world: World) -> Project:
    return world.project()


def _titles(project: Project, filters: ExportFilters) -> dict[str, str]:
    """data title -> listed key, for every row the source lists with `filters`."""
    by_hash = {row.data_hash: row.data_title for row in project.list_label_rows_v2()}
    pages = SdkLabelSource(project, bundle_size=2).list_pages(filters)
    return {by_hash[ref.data_hash]: ref.label_hash for page in pages for ref in page}


def test_default_lists_only_labelled_rows(project: Project) -> None:
    assert sorted(_titles(project, ExportFilters())) == sorted(LABELLED)


def test_label_status_filter_runs_on_the_server(project: Project) -> None:
    counting = CountingProject(project)
    reviewed = _titles(counting, ExportFilters(label_statuses=("REVIEWED",)))  # type: ignore[arg-type]
    assert list(reviewed) == [COMPLETED]
    sent = [call["label_statuses"] for call in counting.listings if call.get("label_statuses")]
    assert sent and all([s.value for s in statuses] == ["COMPLETED"] for statuses in sent)
    in_progress = _titles(project, ExportFilters(label_statuses=("LABEL_IN_PROGRESS",)))
    assert sorted(in_progress) == sorted(set(LABELLED) - {COMPLETED})
    both = _titles(project, ExportFilters(label_statuses=("LABEL_IN_PROGRESS", "REVIEWED")))
    assert sorted(both) == sorted(LABELLED)


def test_all_data_units_adds_the_unlabelled_ones(project: Project) -> None:
    listed = _titles(project, ExportFilters(data_units="all"))
    assert len(listed) == IMAGES
    unlabelled = {title for title, key in listed.items() if key.startswith(UNLABELLED_PREFIX)}
    assert unlabelled == {"img004.png", "img005.png"}
    only_unlabelled = _titles(project, ExportFilters(data_units="all", label_statuses=("NOT_LABELLED",)))
    assert set(only_unlabelled) == unlabelled


def _export(project: Project, store: LocalStore, filters: ExportFilters, run_key: str) -> Any:
    spec = ExportSpec(project="p", project_hash=project.project_hash, base_prefix="labels", filters=filters,
                      formats=("json", "coco"), run_key=run_key)  # fmt: skip
    return export_labels(store, SdkLabelSource(project, bundle_size=4), spec)


def test_export_of_all_data_units_writes_empty_rows_and_creates_none(
    project: Project, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path)
    result = _export(project, store, ExportFilters(data_units="all"), "run-1")
    assert result.status == "written" and result.counts["label_rows"] == IMAGES
    rows = read_jsonl(store.read_bytes(f"labels/p/{result.version}/labels-00000.jsonl").decode())
    empty = [row for row in rows if row["label_hash"] is None]
    assert sorted(row["data_title"] for row in empty) == ["img004.png", "img005.png"]
    assert all(row["label_status"] == "NOT_LABELLED" and not row["object_answers"] for row in empty)
    for row in empty:  # an empty row still loads into the SDK's LabelRowV2
        (unit,) = row["data_units"].values()
        assert (
            unit["data_hash"] == row["data_hash"]
            and unit["width"]
            and unit["labels"]
            == {
                "objects": [],
                "classifications": [],
            }
        )
    # the export wrote nothing to Encord: the two data units still have no label row
    assert sum(r.label_hash is None for r in project.list_label_rows_v2()) == 2
    assert result.counts["coco_images"] == IMAGES


def test_a_data_unit_labelled_later_replaces_its_empty_row(project: Project, tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    first = _export(project, store, ExportFilters(data_units="all"), "run-1")
    row: LabelRowV2 = next(r for r in project.list_label_rows_v2() if r.data_title == "img005.png")
    row.initialise_labels()
    row.save()
    second = _export(project, store, ExportFilters(data_units="all"), "run-2")
    assert second.status == "written" and second.kind == "incremental"
    assert second.counts["rows_entered"] == 1 and second.counts["rows_left"] == 1
    rows = read_jsonl(store.read_bytes(f"labels/p/{second.version}/labels-00000.jsonl").decode())
    assert [(r["data_title"], r["label_hash"] is not None) for r in rows] == [("img005.png", True)]
    assert first.version != second.version


def test_the_operator_passes_the_options_and_reports_lineage(
    world: World, tmp_path: Path, hook_lineage: Any
) -> None:
    from encord_provider.operators.export import EncordExportLabelsOperator

    operator = EncordExportLabelsOperator(
        task_id="export_labels", project_name="p", project_hash=world.project_hash, encord_conn_id="encord_test",
        warehouse_uri=f"file://{tmp_path}", prefix="labels", label_statuses=["NOT_LABELLED", "REVIEWED"],
        data_units="all", formats=["json"], run_key="lineage-1",
    )  # fmt: skip
    result = operator.execute({})
    assert result["status"] == "written" and result["counts"]["label_rows"] == 3  # 2 unlabelled + 1 reviewed
    inputs, outputs = lineage_uris(hook_lineage)
    assert inputs == {f"encord://project/{world.project_hash}", f"encord://dataset/{world.dataset_hash}"}
    assert outputs == {result["uri"]} and result["uri"].endswith(f"/labels/p/{result['version']}")

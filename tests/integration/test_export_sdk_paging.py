"""`SdkLabelSource` against the emulator through the real SDK: the listing pages through the workflow's tasks
(never one unfiltered `list_label_rows_v2`), a page's labels are fetched in one bundle, and an export made of
many small pages holds the same rows as the SDK's own listing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from encord.objects import LabelRowV2
from encord.project import Project
from encord_emulator.testing import EmulatorProcess
from encord_provider.exports.jsonl import read_jsonl
from encord_provider.exports.model import ExportError, ExportFilters, RowRef
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.source import SdkLabelSource
from encord_provider.storage.local import LocalStore

from tests.emulator.test_projects_helpers import build_world

IMAGES = 7


@pytest.fixture
def labelled(encord_emulator: EmulatorProcess, moto_endpoint: str) -> tuple[Project, dict[str, LabelRowV2]]:
    """A default-workflow project of IMAGES images, every row with a label row, two of them in Complete."""
    world = build_world(encord_emulator.client(), encord_emulator, moto_endpoint, images=IMAGES)
    project = world.project()
    rows = {row.data_title: row for row in project.list_label_rows_v2()}
    with project.create_bundle() as bundle:
        for row in rows.values():
            row.initialise_labels(bundle=bundle)
    for title in ("img001.png", "img004.png"):
        rows[title].workflow_complete()
    return world.project(), rows


class CountingProject:
    """The project, recording each `list_label_rows_v2` call's filters."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self.listings: list[dict[str, Any]] = []

    def list_label_rows_v2(self, **kw: Any) -> list[LabelRowV2]:
        self.listings.append(kw)
        return self._project.list_label_rows_v2(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._project, name)


def test_listing_pages_through_tasks_with_filtered_calls(
    labelled: tuple[Project, dict[str, LabelRowV2]],
) -> None:
    project, rows = labelled
    counting = CountingProject(project)
    source = SdkLabelSource(counting, bundle_size=2, workers=3)  # type: ignore[arg-type]
    pages = list(source.list_pages(ExportFilters()))
    assert all(1 <= len(page) <= 2 for page in pages) and len(pages) == 4
    listed = {ref.label_hash for page in pages for ref in page}
    assert listed == {row.label_hash for row in rows.values()}
    assert all(call.get("data_hashes") and len(call["data_hashes"]) <= 2 for call in counting.listings)
    complete = [ref for page in source.list_pages(ExportFilters(stage="Complete")) for ref in page]
    assert sorted(ref.label_hash for ref in complete) == sorted(
        rows[title].label_hash for title in ("img001.png", "img004.png")
    )


def test_a_page_is_fetched_in_order_as_the_sdk_renders_it(
    labelled: tuple[Project, dict[str, LabelRowV2]],
) -> None:
    project, rows = labelled
    source = SdkLabelSource(project, bundle_size=3)
    chosen = [rows[t] for t in ("img005.png", "img000.png", "img003.png")]
    refs = [RowRef(str(r.label_hash), r.data_hash, None) for r in chosen]
    fetched = source.fetch(refs, ExportFilters())
    assert [d["label_hash"] for d in fetched] == [r.label_hash for r in chosen]
    assert fetched == [r.to_encord_dict() for r in chosen]
    with pytest.raises(ExportError, match="no longer exist"):
        source.fetch([RowRef("00000000-0000-0000-0000-000000000000", "d", None)], ExportFilters())


def test_listed_refs_are_fetched_without_listing_again(
    labelled: tuple[Project, dict[str, LabelRowV2]],
) -> None:
    """The fields the SDK renders from a row's listing come with the ref; only the labels are requested."""
    project, _ = labelled
    counting = CountingProject(project)
    source = SdkLabelSource(counting, bundle_size=IMAGES)  # type: ignore[arg-type]
    refs = [ref for page in source.list_pages(ExportFilters()) for ref in page]
    listings = len(counting.listings)
    fetched = source.fetch(refs, ExportFilters())
    assert len(counting.listings) == listings
    assert source.counts == {"rows_normalised": IMAGES}
    by_sdk = SdkLabelSource(project, bundle_size=IMAGES, normalise=False)
    assert fetched == by_sdk.fetch(refs, ExportFilters())  # the SDK's own rendering, listed again


def test_export_of_many_small_pages_has_every_row(
    labelled: tuple[Project, dict[str, LabelRowV2]], tmp_path: Path
) -> None:
    project, rows = labelled
    spec = ExportSpec(
        project="paged", project_hash=project.project_hash, base_prefix="labels", formats=("json",)
    )
    result = export_labels(LocalStore(tmp_path), SdkLabelSource(project, bundle_size=2, workers=2), spec)
    assert result.status == "written" and result.counts["label_rows"] == IMAGES
    lines = read_jsonl(
        (tmp_path / "labels" / "paged" / str(result.version) / "labels-00000.jsonl").read_text()
    )
    labels = [line["label_hash"] for line in lines]
    assert labels == sorted(str(row.label_hash) for row in rows.values())

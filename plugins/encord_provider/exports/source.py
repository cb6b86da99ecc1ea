"""Where label rows come from: the `encord` SDK (or anything else with the same three calls)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from encord_provider.exports.model import ExportFilters, RowRef, as_utc

if TYPE_CHECKING:
    from encord.objects import LabelRowV2
    from encord.project import Project


class LabelSource(Protocol):
    def ontology(self) -> dict[str, Any]:
        """The project ontology in `OntologyStructure.to_dict()` form."""
        ...

    def list_rows(self, filters: ExportFilters, edited_after: datetime | None) -> list[RowRef]:
        """Labelled rows matching the filters (rows without a label row are never listed).

        `export_labels` passes `edited_after=None`: it needs the whole filtered set to see rows that
        entered or left it (e.g. the stage) without a label edit.
        """
        ...

    def fetch(self, refs: Sequence[RowRef], filters: ExportFilters) -> Iterator[dict[str, Any]]:
        """The Encord label JSON of each ref, in order."""
        ...


class SdkLabelSource:
    """`project.list_label_rows_v2` + `initialise_labels` in bundles + `to_encord_dict()`.

    Rows that have no label row yet (`label_hash` None) are skipped: initialising them would *create*
    label rows on the server, an export must not write.
    """

    def __init__(self, project: Project, bundle_size: int = 500) -> None:
        self.project = project
        self.bundle_size = bundle_size
        self._pending: dict[str, LabelRowV2] = {}

    def ontology(self) -> dict[str, Any]:
        return dict(self.project.ontology_structure.to_dict())

    def list_rows(self, filters: ExportFilters, edited_after: datetime | None) -> list[RowRef]:
        rows = self.project.list_label_rows_v2(
            edited_after=edited_after,
            workflow_graph_node_title_eq=filters.stage,
        )
        refs: list[RowRef] = []
        for row in rows:
            if row.label_hash is None:
                continue
            self._pending[row.label_hash] = row
            refs.append(RowRef(row.label_hash, row.data_hash, as_utc(row.last_edited_at)))
        return refs

    def fetch(self, refs: Sequence[RowRef], filters: ExportFilters) -> Iterator[dict[str, Any]]:
        for start in range(0, len(refs), self.bundle_size):
            batch = [self._pending.pop(ref.label_hash) for ref in refs[start : start + self.bundle_size]]
            self._initialise(batch, filters)
            for row in batch:
                yield row.to_encord_dict()
            del batch  # let the initialised rows go before the next bundle
        self._pending.clear()  # listed rows that were not exported (incremental versions)

    def _initialise(self, rows: list[LabelRowV2], filters: ExportFilters) -> None:
        objects = set(filters.include_object_feature_hashes or ()) or None
        classifications = set(filters.include_classification_feature_hashes or ()) or None
        with self.project.create_bundle(bundle_size=self.bundle_size) as bundle:
            for row in rows:
                row.initialise_labels(
                    include_object_feature_hashes=objects,
                    include_classification_feature_hashes=classifications,
                    bundle=bundle,
                    include_signed_url=filters.signed_urls,
                )

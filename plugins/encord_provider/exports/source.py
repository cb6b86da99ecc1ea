"""Where label rows come from: the `encord` SDK (or anything else with the same calls).

A source lists the filtered label rows page by page (metadata only) and fetches the labels of a page
when asked. `export_labels` never holds more than a few pages: listing goes to a sorted spool on disk,
fetched pages go straight to the writers.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from encord_provider.encord_api.label_rows import LabelRowQuery, RowListing, label_row_dicts
from encord_provider.exports import label_status
from encord_provider.exports.model import ExportError, ExportFilters, RowRef, as_utc
from encord_provider.exports.pages import batched, ordered_map

if TYPE_CHECKING:
    from encord.objects import LabelRowV2
    from encord.project import Project

    from encord_provider.exports.normalise import LabelRowNormaliser

DEFAULT_PAGE_SIZE = 500
DEFAULT_WORKERS = 2
T = TypeVar("T")
Read = Callable[[Callable[[], T], str], T]  # `EncordApi.read`: retries and error classification


def _once(fn: Callable[[], T], what: str) -> T:
    return fn()


class LabelSource(Protocol):
    page_size: int
    """Rows per `fetch` call."""
    workers: int
    """How many `fetch` calls may run at once (from different threads)."""

    def ontology(self) -> dict[str, Any]:
        """The project ontology in `OntologyStructure.to_dict()` form."""
        ...

    def list_pages(self, filters: ExportFilters) -> Iterator[Sequence[RowRef]]:
        """Every labelled row matching the filters, a page at a time, in any order.

        A row may appear twice (e.g. its task moved between stages while the listing ran); the export keeps
        one. Rows without a label row are listed only with `data_units: all` (see `exports.label_status`). The whole filtered set is listed every time: rows
        that entered or left it (e.g. the stage) are found by comparison with the previous version.
        """
        ...

    def fetch(self, refs: Sequence[RowRef], filters: ExportFilters) -> list[dict[str, Any]]:
        """The Encord label JSON of each ref (at most `page_size`), in order. Called from worker threads."""
        ...


class SdkLabelSource:
    """Label rows through the SDK, one page per request, `workers` requests at a time.

    Listing: a workflow project is listed stage by stage through the (paged) task listing; each page of
    data hashes becomes one `list_label_rows_v2(data_hashes=...)` call. (`list_label_rows_v2` itself has no
    paging: unfiltered, it returns every row of the project in one response.) A project without a workflow
    is listed in that single call.

    Fetching: the page's label dicts in the request `initialise_labels` makes (`encord_api.label_rows`),
    rendered as `to_encord_dict()` would by `exports.normalise` with the fields the SDK takes from the
    row's listing (`RowListing`, kept in `RowRef.listing` since the listing, so no second listing call), or
    by the SDK itself (`from_labels_dict`, `to_encord_dict`) for a row shape the normaliser does not know
    (only those rows are listed again, by label hash); `counts` says how many went each way.
    `normalise=False` lists the page again and renders every row through the SDK (`initialise_labels` in
    one bundle per page), the reference the normaliser is tested against.

    Rows that have no label row yet (`label_hash` None) are never initialised: that would *create* label
    rows on the server, an export must not write. With `data_units: all` they are listed and written as
    empty rows (`exports.label_status`).
    """

    def __init__(
        self, project: Project, bundle_size: int = DEFAULT_PAGE_SIZE, workers: int = DEFAULT_WORKERS,
        read: Read[Any] = _once, normalise: bool = True,
    ) -> None:  # fmt: skip
        if bundle_size < 1 or workers < 1:
            raise ValueError("bundle_size and workers must be >= 1")
        self.project = project
        self.read = read  # listings go through it (the operator passes `EncordApi.read`)
        self.page_size = bundle_size
        self.workers = workers
        self.normalise = normalise
        self.counts: Counter[str] = Counter()
        """How each fetched row was rendered: `rows_normalised`, `rows_rendered_by_sdk` (the fallback)."""
        self._counts_lock = threading.Lock()
        self._normaliser_instance: LabelRowNormaliser | None = None

    def ontology(self) -> dict[str, Any]:
        return dict(self.project.ontology_structure.to_dict())

    def list_pages(self, filters: ExportFilters) -> Iterator[list[RowRef]]:
        from encord.orm.project import ProjectType

        if self.project.project_type != ProjectType.WORKFLOW:
            rows = self.read(lambda: self.project.list_label_rows_v2(workflow_graph_node_title_eq=filters.stage),
                             "list label rows")  # fmt: skip
            kept = (row for row in rows if label_status.keeps_legacy_row(row, filters.label_statuses))
            yield from batched(_refs(kept, label_status.wants_unlabelled(filters)), self.page_size)
            return
        pages = batched(self._data_hashes(filters.stage), self.page_size)
        yield from ordered_map(lambda page: self._list_page(page, filters), pages, self.workers)

    def _data_hashes(self, stage: str | None) -> Iterator[str]:
        """The data hash of every task, stage by stage (only the stage titled `stage` if given)."""
        for workflow_stage in self.project.workflow.stages:
            if stage is None or workflow_stage.title == stage:
                for task in workflow_stage.get_tasks():
                    yield str(task.data_hash)

    def _list_page(self, data_hashes: list[str], filters: ExportFilters) -> list[RowRef]:
        """The page's labelled rows (task statuses filtered by the server) and, if wanted, its unlabelled ones."""
        from encord.orm.label_row import AnnotationTaskStatus

        refs: list[RowRef] = []
        stage = filters.stage
        if label_status.wants_labelled(filters):
            names = label_status.task_statuses(filters)
            statuses = None if names is None else [AnnotationTaskStatus(s) for s in names]
            rows = self.read(lambda: self.project.list_label_rows_v2(data_hashes=data_hashes,
                             workflow_graph_node_title_eq=stage, label_statuses=statuses), "list label rows")  # fmt: skip
            refs += _refs(rows, unlabelled=False)
        if label_status.wants_unlabelled(filters):
            rows = self.read(lambda: self.project.list_label_rows_v2(data_hashes=data_hashes,
                             workflow_graph_node_title_eq=stage), "list label rows")  # fmt: skip
            refs += (
                ref for ref in _refs(rows, unlabelled=True) if label_status.is_unlabelled_key(ref.label_hash)
            )
        return refs

    def fetch(self, refs: Sequence[RowRef], filters: ExportFilters) -> list[dict[str, Any]]:
        labelled = [ref for ref in refs if not label_status.is_unlabelled_key(ref.label_hash)]
        unlabelled = [ref for ref in refs if label_status.is_unlabelled_key(ref.label_hash)]
        fetched = dict(
            zip([ref.label_hash for ref in labelled], self._fetch_labelled(labelled, filters), strict=True)
        )
        fetched.update(self._fetch_unlabelled(unlabelled))
        return [fetched[ref.label_hash] for ref in refs]

    def _fetch_unlabelled(self, refs: Sequence[RowRef]) -> dict[str, dict[str, Any]]:
        """Empty label rows of data units that still have none, built from their metadata (no server write)."""
        if not refs:
            return {}
        data_hashes = [ref.data_hash for ref in refs]
        listed = self.read(
            lambda: self.project.list_label_rows_v2(data_hashes=data_hashes), "list label rows"
        )
        rows = {row.data_hash: row for row in listed if row.label_hash is None}
        missing = [ref.data_hash for ref in refs if ref.data_hash not in rows]
        if missing:
            raise ExportError(
                f"data units {missing[:5]} ({len(missing)} in all) of project {self.project.project_hash} "
                "were listed without labels but have since been labelled or removed; rerun the export"
            )
        return {ref.label_hash: label_status.empty_label_row(rows[ref.data_hash]) for ref in refs}

    def _fetch_labelled(self, refs: Sequence[RowRef], filters: ExportFilters) -> list[dict[str, Any]]:
        if not refs:
            return []
        if not self.normalise:
            return self._rendered_by_sdk(self._label_rows(refs), filters)
        hashes = [ref.label_hash for ref in refs]
        query = LabelRowQuery(
            signed_urls=filters.signed_urls,
            object_feature_hashes=frozenset(filters.include_object_feature_hashes or ()) or None,
            classification_feature_hashes=frozenset(filters.include_classification_feature_hashes or ())
            or None,
        )
        raw = {d["label_hash"]: d for d in self._label_dicts(hashes, query)}
        missing = [h for h in hashes if h not in raw]
        if missing:
            raise ExportError(
                f"the server sent no labels for label rows {missing[:5]} ({len(missing)} in all)"
            )
        normalised = {ref.label_hash: self._normalised(ref, raw[ref.label_hash]) for ref in refs}
        declined = [ref for ref in refs if normalised[ref.label_hash] is None]
        by_sdk: dict[str, dict[str, Any]] = {}
        for row in self._label_rows(declined) if declined else []:
            row.from_labels_dict(raw[str(row.label_hash)])  # what `initialise_labels` does with it
            by_sdk[str(row.label_hash)] = row.to_encord_dict()
        self._count(rows_normalised=len(refs) - len(declined), rows_rendered_by_sdk=len(declined))
        return [by_sdk[h] if (done := normalised[h]) is None else done for h in hashes]

    def _rendered_by_sdk(self, rows: list[LabelRowV2], filters: ExportFilters) -> list[dict[str, Any]]:
        objects = set(filters.include_object_feature_hashes or ()) or None
        classifications = set(filters.include_classification_feature_hashes or ()) or None
        with self.project.create_bundle(bundle_size=max(len(rows), 1)) as bundle:
            for row in rows:
                row.initialise_labels(
                    include_object_feature_hashes=objects,
                    include_classification_feature_hashes=classifications,
                    bundle=bundle,
                    include_signed_url=filters.signed_urls,
                )
        self._count(rows_rendered_by_sdk=len(rows))
        return [row.to_encord_dict() for row in rows]

    def _label_dicts(self, hashes: list[str], query: LabelRowQuery) -> list[dict[str, Any]]:
        """The server's dicts of `hashes`; a row deleted since it was listed is an error (retry)."""
        from encord.exceptions import ResourceNotFoundError

        try:
            return self.read(lambda: label_row_dicts(self.project, hashes, query), "get label rows")
        except ResourceNotFoundError as err:
            raise ExportError(
                f"label rows of project {self.project.project_hash} were listed but no longer exist "
                f"({err.message}); rerun the export"
            ) from err

    def _normalised(self, ref: RowRef, raw: dict[str, Any]) -> dict[str, Any] | None:
        """`raw` as `to_encord_dict()` renders it, or None for a shape the normaliser does not know (or a
        ref listed by another source, without its listing)."""
        from encord_provider.exports.normalise import Unsupported

        if not ref.listing:
            return None
        try:
            return self._normaliser().normalise(raw, RowListing.decode(ref.listing))
        except Unsupported:
            return None

    def _count(self, **ways: int) -> None:
        with self._counts_lock:
            self.counts.update({way: count for way, count in ways.items() if count})

    def _normaliser(self) -> LabelRowNormaliser:
        from encord_provider.exports.normalise import LabelRowNormaliser

        if self._normaliser_instance is None:
            self._normaliser_instance = LabelRowNormaliser(self.project.ontology_structure)
        return self._normaliser_instance

    def _label_rows(self, refs: Sequence[RowRef]) -> list[LabelRowV2]:
        """The listed rows of `refs`, in order; a row deleted since it was listed is an error (retry)."""
        hashes = [ref.label_hash for ref in refs]
        listed = self.read(lambda: self.project.list_label_rows_v2(label_hashes=hashes), "list label rows")
        by_hash = {row.label_hash: row for row in listed}
        missing = [ref.label_hash for ref in refs if ref.label_hash not in by_hash]
        if missing:
            raise ExportError(
                f"label rows {missing[:5]} ({len(missing)} in all) of project {self.project.project_hash} "
                "were listed but no longer exist; rerun the export"
            )
        return [by_hash[ref.label_hash] for ref in refs]


def _refs(rows: Iterable[LabelRowV2], unlabelled: bool) -> Iterator[RowRef]:
    """RowRefs of the labelled rows, and of the unlabelled ones (keyed `unlabelled:<data_hash>`) if asked."""
    for row in rows:
        if row.label_hash is not None:
            yield RowRef(
                row.label_hash, row.data_hash, as_utc(row.last_edited_at), RowListing.of(row).encode()
            )
        elif unlabelled:
            yield RowRef(label_status.unlabelled_key(row.data_hash), row.data_hash, None)

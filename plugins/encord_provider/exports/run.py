"""Write one label version: pick full/incremental, stream rows into the writers, upload, mark `_SUCCESS`.

Streaming, memory bounded whatever the row count: the listing goes page by page into a sorted spool on
disk; one sorted pass (`exports.selection`) writes the membership and picks the rows; those are fetched a
page at a time, `source.workers` pages at once, and written in label-hash order while the next pages are
fetched.

Idempotence: a rerun with the same `run_key` returns the version already written; otherwise a run that
finds no label row edited since the previous version's high-water mark, and no row entering or leaving the
filtered set (`exports.membership`), writes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from encord_provider.exports.coco import CocoWriter
from encord_provider.exports.digest import file_sha256
from encord_provider.exports.jsonl import ChunkedJsonlWriter
from encord_provider.exports.membership import LEFT_ROWS, MEMBERSHIP, Member, read_membership
from encord_provider.exports.model import (
    CocoOptions,
    ExportError,
    ExportFilters,
    ExportResult,
    FileEntry,
    Manifest,
    RowRef,
    VersionKind,
)
from encord_provider.exports.pages import batched, ordered_map
from encord_provider.exports.selection import SOURCE_ROWS, Selection, read_selected, select_rows, unique_refs
from encord_provider.exports.source import LabelSource
from encord_provider.exports.spool import SortedSpool
from encord_provider.exports.table import CsvTableWriter, ParquetTableWriter, TableWriter
from encord_provider.exports.upload import upload_file
from encord_provider.exports.versions import MANIFEST, SUCCESS, VersionLayout, VersionMarker
from encord_provider.storage.base import ObjectStore

CONTENT_TYPES = {
    ".gz": "application/gzip",
    ".jsonl": "application/x-ndjson",
    ".json": "application/json",
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
}
FileList = list[tuple[Path, int | None]]
"""Files of a version with their row counts (None where rows mean nothing)."""


@dataclass(frozen=True)
class ExportSpec:
    project: str
    project_hash: str
    base_prefix: str
    filters: ExportFilters = field(default_factory=ExportFilters)
    coco: CocoOptions = field(default_factory=lambda: CocoOptions())
    formats: Sequence[str] = ("json", "coco", "parquet")
    version_name_template: str = "v{number:05d}_{created_at:%Y%m%dT%H%M%SZ}"
    full_snapshot_every: int = 10
    rows_per_file: int = 50_000
    force_full: bool = False
    version_name: str | None = None
    run_key: str | None = None


@dataclass
class _Plan:
    number: int
    kind: VersionKind
    previous: Manifest | None
    edited_after: datetime | None


def _needs_full(spec: ExportSpec, previous: Manifest | None, number: int) -> bool:
    if previous is None or spec.force_full or (number - 1) % spec.full_snapshot_every == 0:
        return True
    # A version written before membership tracking cannot tell which rows entered or left the filters.
    changed_format = previous.coco_options != spec.coco or previous.file(MEMBERSHIP) is None
    return previous.filters != spec.filters or changed_format


def _plan(spec: ExportSpec, previous: Manifest | None) -> _Plan:
    number = previous.number + 1 if previous else 1
    kind: VersionKind = "full" if _needs_full(spec, previous, number) else "incremental"
    edited_after = previous.high_water_mark if (previous and kind == "incremental") else None
    return _Plan(number, kind, previous, edited_after)


class _Writers:
    """All the format writers of one version, fed one label row at a time."""

    def __init__(self, workdir: Path, spec: ExportSpec, ontology: dict[str, Any]) -> None:
        self.jsonl = ChunkedJsonlWriter(workdir, spec.rows_per_file) if "json" in spec.formats else None
        self.coco = (
            CocoWriter(workdir / "coco.json", ontology, spec.project, spec.coco)
            if "coco" in spec.formats
            else None
        )
        self.tables: list[TableWriter] = []
        if "parquet" in spec.formats:
            self.tables.append(ParquetTableWriter(workdir / "labels.parquet", ontology))
        if "csv" in spec.formats:
            self.tables.append(CsvTableWriter(workdir / "labels.csv", ontology))
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        if self.jsonl:
            self.jsonl.add_row(row)
        if self.coco:
            self.coco.add_row(row)
        for table in self.tables:
            table.add_row(row)
        self.rows += 1

    def close(self) -> tuple[FileList, dict[str, int]]:
        files: FileList = []
        counts: dict[str, int] = {"label_rows": self.rows}
        if self.jsonl:
            chunk_paths = self.jsonl.close()
            files += [(p, None) for p in chunk_paths]
            counts["jsonl_files"] = len(chunk_paths)
        if self.coco:
            files.append((self.coco.close(), None))
            counts.update(self.coco.counts)
        for table in self.tables:
            files.append((table.close(), table.rows))
            counts["table_rows"] = table.rows
        return files, counts


def _version_name(spec: ExportSpec, plan: _Plan, created_at: datetime) -> str:
    if spec.version_name:
        name = spec.version_name
    else:
        name = spec.version_name_template.format(
            number=plan.number, created_at=created_at, kind=plan.kind, project=spec.project
        )
    if not name or "/" in name or name in {"latest", ".", ".."}:
        raise ExportError(f"version name {name!r} cannot be used as a folder name")
    return name


def _upload_all(layout: VersionLayout, version: str, files: FileList) -> list[FileEntry]:
    entries = []
    for path, rows in files:
        key = layout.key(version, path.name)
        upload_file(layout.store, key, path, CONTENT_TYPES.get(path.suffix))
        entries.append(
            FileEntry(path=path.name, bytes=path.stat().st_size, sha256=file_sha256(path), rows=rows)
        )
    return entries


def _unchanged(spec: ExportSpec, plan: _Plan, selection: Selection) -> str | None:
    """Why nothing needs writing, or None when a version is due."""
    previous = plan.previous
    if previous is None or selection.left:
        return None
    if spec.force_full:
        same = (
            previous.kind == "full"
            and previous.filters == spec.filters
            and previous.coco_options == spec.coco
            and previous.source_digest == selection.digest
        )
        return f"full snapshot identical to {previous.version}" if same else None
    if plan.kind == "full":
        return None
    if not selection.selected:
        return (
            f"no label row edited, entering or leaving the filters since {previous.version} "
            f"(high-water mark {previous.high_water_mark})"
        )
    return None


def _list_sorted(source: LabelSource, filters: ExportFilters, workdir: Path) -> SortedSpool:
    """The whole filtered listing, spooled to disk to be read back sorted by label hash."""
    spool = SortedSpool(workdir, "listed")
    for page in source.list_pages(filters):
        for ref in page:
            spool.add(ref.to_spool_row())
    return spool


def _previous_members(layout: VersionLayout, previous: Manifest | None) -> Iterator[Member] | None:
    """The previous version's membership, streamed; None when there is none to compare with."""
    entry = previous.file(MEMBERSHIP) if previous else None
    if previous is None or entry is None:
        return None
    return read_membership(layout.store, layout.key(previous.version, MEMBERSHIP), entry.bytes)


def export_labels(
    store: ObjectStore, source: LabelSource, spec: ExportSpec, *, now: datetime | None = None
) -> ExportResult:
    """Write the next version of `spec.project` to `store` (or decide that none is needed)."""
    layout = VersionLayout(store, spec.base_prefix, spec.project)
    markers = layout.markers()
    if spec.run_key and (done := next((m for m in markers if m.run_key == spec.run_key), None)):
        manifest = layout.read_manifest(done.version)
        return _result("reused", layout, manifest, reason=f"run {spec.run_key} already wrote {done.version}")
    previous = layout.read_manifest(markers[-1].version) if markers else None
    if spec.version_name and any(m.version == spec.version_name for m in markers):
        raise ExportError(f"version {spec.version_name!r} of {spec.project} already exists")
    plan = _plan(spec, previous)
    with tempfile.TemporaryDirectory(prefix="encord-export-") as tmp:
        workdir = Path(tmp)
        # The whole filtered set is listed every time: entering and leaving rows are found by comparison.
        listed = _list_sorted(source, spec.filters, workdir)
        members = _previous_members(layout, previous)
        selection = select_rows(unique_refs(listed.sorted()), plan.kind, previous, members, workdir)
        listed.remove()
        if reason := _unchanged(spec, plan, selection):
            return ExportResult(
                status="unchanged",
                project=spec.project,
                version=None,
                uri=None,
                kind=None,
                previous_version=previous.version if previous else None,
                reason=reason,
            )
        created_at = now or datetime.now(UTC)
        version = _version_name(spec, plan, created_at)
        work = _Work(plan, selection, version, created_at, workdir)
        manifest = _write_version(layout, source, spec, work)
    return _result("written", layout, manifest)


@dataclass
class _Work:
    """Everything one version is written from."""

    plan: _Plan
    selection: Selection
    version: str
    created_at: datetime
    workdir: Path


def _selection_files(selection: Selection) -> FileList:
    rows = {SOURCE_ROWS: selection.selected, MEMBERSHIP: selection.members, LEFT_ROWS: selection.left}
    return [(path, rows[name]) for name, path in selection.files.items()]


def _fetch_page(source: LabelSource, filters: ExportFilters, page: Sequence[RowRef]) -> list[dict[str, Any]]:
    rows = source.fetch(page, filters)
    if len(rows) != len(page):
        raise ExportError(f"asked the label source for {len(page)} label rows, got {len(rows)}")
    return rows


def _write_rows(source: LabelSource, spec: ExportSpec, work: _Work) -> tuple[FileList, dict[str, int]]:
    """Fetch the selected rows page by page (`source.workers` pages at once) while writing them in order."""
    writers = _Writers(work.workdir, spec, source.ontology())
    pages = batched(read_selected(work.selection.fetch_rows), source.page_size)
    for rows in ordered_map(lambda page: _fetch_page(source, spec.filters, page), pages, source.workers):
        for row in rows:
            writers.add(row)
    files, counts = writers.close()
    # How the source rendered its rows (SdkLabelSource: normalised, or the SDK's fallback), when it says.
    counts.update(getattr(source, "counts", {}))
    return files, counts


def _write_version(layout: VersionLayout, source: LabelSource, spec: ExportSpec, work: _Work) -> Manifest:
    plan, version, selection = work.plan, work.version, work.selection
    files, counts = _write_rows(source, spec, work)
    files += _selection_files(selection)
    counts.update(selection.counts())
    entries = _upload_all(layout, version, files)
    previous = plan.previous
    manifest = Manifest(
        project=spec.project,
        project_hash=spec.project_hash,
        version=version,
        number=plan.number,
        kind=plan.kind,
        created_at=work.created_at,
        previous_version=previous.version if previous else None,
        base_version=version if plan.kind == "full" else (previous.base_version if previous else None),
        run_key=spec.run_key,
        filters=spec.filters,
        coco_options=spec.coco,
        edited_after=plan.edited_after,
        high_water_mark=selection.high_water_mark,
        boundary_rows=selection.boundary_rows,
        source_rows=selection.selected,
        source_digest=selection.digest,
        counts=counts,
        files=entries,
    )
    body = manifest.to_json_bytes()
    layout.store.write_bytes(layout.key(version, MANIFEST), body, "application/json")
    marker = VersionMarker(version, plan.number, spec.run_key, _sha256_bytes(body))
    layout.store.write_bytes(layout.key(version, SUCCESS), marker.to_bytes(), "application/json")
    layout.write_latest(manifest)
    return manifest


def _sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _result(status: str, layout: VersionLayout, manifest: Manifest, reason: str = "") -> ExportResult:
    return ExportResult.model_validate(
        {
            "status": status,
            "project": manifest.project,
            "version": manifest.version,
            "uri": layout.store.uri(layout.version_prefix(manifest.version)),
            "kind": manifest.kind,
            "previous_version": manifest.previous_version,
            "counts": manifest.counts,
            "reason": reason,
        }
    )

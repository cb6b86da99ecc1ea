"""What the pipelines did, gathered through the project's own readers (no Airflow needed).

Ledger totals come from `Ledger.counts()`, runs from each run's `report.json` in staging, export versions
from `VersionLayout` (the `_SUCCESS` markers and `manifest.json`). Nothing here knows a file format, so the
ledger's storage can change underneath. Used by the UI plugin and by the HTML run report.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.config.projects import ProjectPipeline
from encord_provider.ledger import Ledger
from encord_provider.storage.base import ObjectStore

MAX_RUNS = 30
MAX_REJECTIONS = 20
MAX_VERSIONS = 20
REPORT_NAME = "report.json"
# Ledger states that mean "Encord has the item" for a run's bar.
REGISTERED_STATES = ("registered", "linked", "duplicate")
PROBLEM_STATES = ("rejected", "failed")


@dataclass(frozen=True)
class RunPoint:
    """One run's bar in the chart, from its report."""

    run_id: str
    registered: int
    rejected: int
    failed: int
    dry_run: bool = False

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> RunPoint:
        states: dict[str, int] = report.get("states") or {}
        return cls(
            run_id=str(report.get("run_id", "?")),
            registered=sum(int(states.get(s, 0)) for s in REGISTERED_STATES),
            rejected=int(states.get("rejected", 0)),
            failed=int(states.get("failed", 0)),
            dry_run=bool(report.get("dry_run")),
        )


@dataclass(frozen=True)
class Rejection:
    run_id: str
    key: str
    state: str
    reason: str


@dataclass
class PipelineOverview:
    name: str
    source: str
    ledger_totals: dict[str, int] = field(default_factory=dict)
    runs: list[RunPoint] = field(default_factory=list)  # oldest first
    rejections: list[Rejection] = field(default_factory=list)  # newest first
    error: str | None = None  # why the staging bucket could not be read


@dataclass(frozen=True)
class VersionRow:
    version: str
    number: int
    kind: str
    created_at: str
    counts: dict[str, int]


@dataclass
class ExportOverview:
    project: str
    uri: str
    latest: str | None = None
    versions: list[VersionRow] = field(default_factory=list)  # newest first
    error: str | None = None


def _run_order(run_folder: str) -> str:
    """Run folders are named after run ids (`manual__<timestamp>`, `scheduled__<timestamp>`): sort by time."""
    name = run_folder.rstrip("/").rsplit("/", 1)[-1]
    return name.split("__", 1)[-1]


def _run_folders(staging: ObjectStore, runs_prefix: str) -> list[str]:
    """The run folders under `runs_prefix/` (one level; falls back to a full listing)."""
    base = runs_prefix.rstrip("/") + "/"
    list_level = getattr(staging, "list_level", None)
    if callable(list_level):
        return [entry for entry in list_level(base) if isinstance(entry, str)]
    suffix = "/" + REPORT_NAME
    return sorted(
        {r.key[: -len(REPORT_NAME)] for r in staging.list_objects(prefix=base) if r.key.endswith(suffix)}
    )


def recent_reports(staging: ObjectStore, runs_prefix: str, limit: int = MAX_RUNS) -> list[dict[str, Any]]:
    """The `report.json` of the latest `limit` runs under `runs_prefix`, oldest first."""
    folders = sorted(_run_folders(staging, runs_prefix), key=_run_order)
    reports = []
    for folder in folders[-limit:]:
        key = folder.rstrip("/") + "/" + REPORT_NAME
        if staging.exists(key):
            reports.append(json.loads(staging.read_bytes(key)))
    return reports


def rejections_of(reports: Iterable[dict[str, Any]], limit: int = MAX_REJECTIONS) -> list[Rejection]:
    """Rejected and failed objects with their reasons, newest run first."""
    found: list[Rejection] = []
    for report in reversed(list(reports)):
        for error in report.get("errors") or []:
            if str(error.get("state")) in PROBLEM_STATES:
                found.append(
                    Rejection(
                        str(report.get("run_id")), str(error["key"]), str(error["state"]), str(error["error"])
                    )
                )
                if len(found) >= limit:
                    return found
    return found


def pipeline_overview(
    pipeline: IngestPipeline,
    staging: ObjectStore,
    ledger_prefixes: Sequence[str],
    runs_prefix: str,
) -> PipelineOverview:
    """`ledger_prefixes`: the pipeline's ledger, or each of its shard ledgers (their totals are summed)."""
    overview = PipelineOverview(pipeline.name, f"{pipeline.source.bucket_url}/{pipeline.source.prefix}")
    try:
        overview.ledger_totals = _summed(
            Ledger(staging, prefix).load().counts() for prefix in ledger_prefixes
        )
        reports = recent_reports(staging, runs_prefix)
    except Exception as err:  # an unreachable bucket must not take the whole page down
        overview.error = f"{type(err).__name__}: {err}"
        return overview
    overview.runs = [RunPoint.from_report(r) for r in reports]
    overview.rejections = rejections_of(reports)
    return overview


def _summed(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for each in counts:
        total.update(each)
    return dict(total)


def export_overview(
    project: ProjectPipeline, open_store: Callable[[str, str | None, str | None], tuple[ObjectStore, str]]
) -> ExportOverview | None:
    """Complete versions of a project's label export, newest first; None if the project has no export."""
    from encord_provider.exports.versions import VersionLayout, join_key

    export = project.export
    if export is None:
        return None
    overview = ExportOverview(project.name, export.uri)
    try:
        store, path = open_store(export.uri, export.endpoint_url, export.conn_id)
        layout = VersionLayout(store, join_key(path, export.prefix), project.name)
        pointer = layout.read_latest_pointer()
        overview.latest = str(pointer["version"]) if pointer else None
        for marker in reversed(layout.markers()[-MAX_VERSIONS:]):
            manifest = layout.read_manifest(marker.version)
            overview.versions.append(
                VersionRow(
                    manifest.version,
                    manifest.number,
                    str(manifest.kind),
                    manifest.created_at.isoformat(),
                    dict(manifest.counts),
                )  # fmt: skip
            )
    except Exception as err:
        overview.error = f"{type(err).__name__}: {err}"
    return overview

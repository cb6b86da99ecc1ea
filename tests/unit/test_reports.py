"""What-the-pipelines-did overviews (ledger, run reports, export versions) and their self-contained HTML."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.config.projects import ProjectPipeline
from encord_provider.exports.run import ExportSpec, export_labels
from encord_provider.exports.synthetic import GeneratedLabelSource
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
from encord_provider.reports import render_dashboard, render_html_report, write_html_report
from encord_provider.reports.overview import export_overview, pipeline_overview, recent_reports
from encord_provider.storage.local import LocalStore

from tests.dags.test_ingest_support import pipeline_config

HOSTILE_KEY = 'in/<img src=x onerror="alert(1)">.jpg'
RUNS = "encord/runs/p"


def _report(
    run_id: str, states: dict[str, int], errors: list[dict[str, str]] = (), **extra: Any
) -> dict[str, Any]:  # type: ignore[assignment]
    return {"pipeline": "p", "run_id": run_id, "objects": sum(states.values()), "states": states,
            "errors": list(errors), "errors_truncated": 0, "ledger_totals": {"linked": 3}, "dry_run": False,
            **extra}  # fmt: skip


def _store_with_runs(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path)
    reports = [
        _report("scheduled__2026-03-02T02:00:00+00:00", {"linked": 2, "rejected": 1},
                [{"key": "in/old.bin", "state": "rejected", "error": "unsupported type"}]),
        _report("manual__2026-03-01T10:00:00.1+00:00", {"linked": 1}),
        _report("manual__2026-03-03T09:00:00+00:00", {"failed": 1, "duplicate": 1},
                [{"key": HOSTILE_KEY, "state": "failed", "error": "Encord: <broken> image"}]),
    ]  # fmt: skip
    for report in reports:
        folder = re.sub(r"[^A-Za-z0-9_.-]", "_", report["run_id"])
        store.write_bytes(f"{RUNS}/{folder}/report.json", json.dumps(report).encode())
        store.write_bytes(f"{RUNS}/{folder}/chunks/chunk-00000.plan.json", b"{}")
    Ledger(store, "encord/ledger/p").load().write(
        [LedgerRecord(key=f"in/{i}.jpg", etag="e", state=ObjectState.LINKED) for i in range(3)]
        + [LedgerRecord(key=HOSTILE_KEY, etag="e", state=ObjectState.FAILED, error="boom")]
    )
    return store


def _pipeline() -> IngestPipeline:
    return IngestPipeline.model_validate(
        pipeline_config("p", "s3", "media", "aws_test", "s3://staging/encord", "x")
    )


def test_overview_reads_the_ledger_and_orders_runs_by_time(tmp_path: Path) -> None:
    overview = pipeline_overview(_pipeline(), _store_with_runs(tmp_path), ["encord/ledger/p"], RUNS)
    assert overview.error is None
    assert overview.ledger_totals == {"linked": 3, "failed": 1}
    assert [r.run_id[:20] for r in overview.runs] == [
        "manual__2026-03-01T1",
        "scheduled__2026-03-0",
        "manual__2026-03-03T0",
    ]
    assert [(r.registered, r.rejected, r.failed) for r in overview.runs] == [(1, 0, 0), (2, 1, 0), (1, 0, 1)]
    assert [(r.key, r.state) for r in overview.rejections] == [
        (HOSTILE_KEY, "failed"),
        ("in/old.bin", "rejected"),
    ]


def test_stores_without_level_listing_still_find_the_reports(tmp_path: Path) -> None:
    class FlatStore:  # only the core ObjectStore interface
        def __init__(self, inner: LocalStore) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            if name == "list_level":
                raise AttributeError(name)
            return getattr(self.inner, name)

    reports = recent_reports(FlatStore(_store_with_runs(tmp_path)), RUNS)  # type: ignore[arg-type]
    assert len(reports) == 3 and reports[-1]["run_id"].startswith("manual__2026-03-03")


def test_an_unreadable_staging_bucket_is_shown_not_raised() -> None:
    class Broken:
        def list_objects(self, prefix: str = "", start_after: str | None = None) -> Any:
            raise PermissionError("AccessDenied on s3://staging")

    overview = pipeline_overview(_pipeline(), Broken(), ["l"], "r")  # type: ignore[arg-type]
    assert overview.error == "PermissionError: AccessDenied on s3://staging"
    assert "cannot read staging: PermissionError" in render_dashboard([overview], [], "now")


def test_export_overview_lists_complete_versions_with_counts(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    spec = ExportSpec(project="cats", project_hash="p-1", base_prefix="labels", formats=("json", "coco"))
    export_labels(store, GeneratedLabelSource(4), spec, now=datetime(2026, 3, 1, tzinfo=UTC))
    project = ProjectPipeline.model_validate(
        {"name": "cats", "project_hash": "p-1", "export": {"uri": "s3://warehouse", "prefix": "labels"}}
    )
    overview = export_overview(project, lambda uri, endpoint, conn: (store, ""))
    assert overview is not None and overview.error is None
    (version,) = overview.versions
    assert overview.latest == version.version and version.kind == "full"
    assert version.counts["label_rows"] == 4
    html = render_dashboard([], [overview], "now")
    assert version.version in html and ">4<" in html


def test_html_report_is_self_contained_and_escapes_hostile_keys(tmp_path: Path) -> None:
    store = _store_with_runs(tmp_path)
    history = recent_reports(store, RUNS)
    html = render_html_report(history[-1], history)
    assert "<script" not in html and "<img" not in html and "&lt;img src=x onerror=&quot;" in html
    assert not re.search(r'(src|href)="https?:', html)  # no external assets
    assert html.count('data-series="registered"') == 3  # one bar per run
    assert 'data-state="failed">1<' in html


def test_write_html_report_lands_next_to_report_json_with_the_history(tmp_path: Path) -> None:
    store = _store_with_runs(tmp_path)
    key = f"{RUNS}/manual__2026-03-04T00_00_00_00_00/report.json"
    report = _report("manual__2026-03-04T00:00:00+00:00", {"linked": 5}, dry_run=False)
    store.write_bytes(key, json.dumps(report).encode())
    uri = write_html_report(store, key, report)
    assert uri == store.uri(f"{RUNS}/manual__2026-03-04T00_00_00_00_00/report.html")
    html = store.read_bytes(f"{RUNS}/manual__2026-03-04T00_00_00_00_00/report.html").decode()
    assert "Runs (4 latest)" in html and 'data-value="5"' in html

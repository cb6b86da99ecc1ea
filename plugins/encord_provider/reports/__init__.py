"""What the pipelines did: overviews read through the project's own APIs, rendered as self-contained HTML."""

from __future__ import annotations

from typing import Any

from encord_provider.reports.html import render_dashboard, render_html_report
from encord_provider.reports.overview import recent_reports
from encord_provider.storage.base import ObjectStore

__all__ = ["render_dashboard", "render_html_report", "write_html_report"]


def write_html_report(staging: ObjectStore, report_key: str, report: dict[str, Any]) -> str:
    """Write `report.html` next to `report_key` (…/runs/<pipeline>/<run>/report.json), with the earlier
    runs of the same pipeline in its chart; returns the page's URI."""
    run_folder = report_key.rsplit("/", 1)[0]
    history = recent_reports(staging, run_folder.rsplit("/", 1)[0])
    key = f"{run_folder}/report.html"
    staging.write_bytes(key, render_html_report(report, history).encode("utf-8"), "text/html; charset=utf-8")
    return staging.uri(key)

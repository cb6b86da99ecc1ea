"""Self-contained HTML (inline CSS and SVG, no scripts, no external assets) for what the pipelines did.

`render_dashboard` is the UI plugin's page; `render_html_report` is the page written next to each run's
report.json. Both are plain functions of plain data, so they are tested without Airflow or a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from encord_provider.reports.overview import (
    ExportOverview,
    PipelineOverview,
    Rejection,
    RunPoint,
    rejections_of,
)

REPORT_CHUNK_COUNTS = ("registered", "duplicate", "failed", "rejected")
COLOURS = {"registered": "#2f9e44", "rejected": "#f08c00", "failed": "#e03131"}
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#212529;background:#fff}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dee2e6}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #dee2e6;padding:.25rem .6rem;text-align:left}
th{background:#f1f3f5}td.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#868e96}
.error{color:#c92a2a}.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}
code{font-size:.85em}
"""


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], css_class: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{value}</td>' if isinstance(value, int) else f"<td>{escape(str(value))}</td>"
            for value in row
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return '<p class="muted">none yet</p>'
    return f'<table class="{css_class}"><tr>{head}</tr>{"".join(body)}</table>'


def totals_table(totals: dict[str, int]) -> str:
    """Ledger totals by state (each count cell carries `data-state` for readers and tests)."""
    if not totals:
        return '<p class="muted">the ledger is empty</p>'
    rows = "".join(
        f'<tr><td>{escape(state)}</td><td class="num" data-state="{escape(state)}">{count}</td></tr>'
        for state, count in sorted(totals.items())
    )
    total = sum(totals.values())
    return (
        f'<table class="ledger-totals"><tr><th>state</th><th>objects</th></tr>{rows}'
        f'<tr><th>total</th><th class="num" data-state="total">{total}</th></tr></table>'
    )


def runs_chart(runs: Sequence[RunPoint], width: int = 720, height: int = 220) -> str:
    """Stacked bars per run (registered, rejected, failed), oldest left; dry runs drawn hollow."""
    if not runs:
        return '<p class="muted">no runs yet</p>'
    left, bottom, top = 40, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(max(r.registered + r.rejected + r.failed for r in runs), 1)
    slot = plot_w / len(runs)
    bar_w = max(min(slot * 0.7, 48), 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="runs-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="objects per run">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#adb5bd"/>',
        f'<text x="{left - 6}" y="{top + 10}" font-size="11" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end">0</text>',
    ]
    for index, run in enumerate(runs):
        x = left + index * slot + (slot - bar_w) / 2
        y: float = top + plot_h
        for name, value in (
            ("registered", run.registered),
            ("rejected", run.rejected),
            ("failed", run.failed),
        ):
            if value <= 0:
                continue
            h = value / peak * plot_h
            y -= h
            fill = "none" if run.dry_run else COLOURS[name]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{fill}" '
                f'stroke="{COLOURS[name]}" data-series="{name}" data-value="{value}">'
                f"<title>{escape(run.run_id)}: {value} {name}{' (dry run)' if run.dry_run else ''}</title></rect>"
            )
        if run.registered + run.rejected + run.failed == 0:
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - 2}" width="{bar_w:.1f}" height="2" fill="#ced4da">'
                f"<title>{escape(run.run_id)}: nothing new{' (dry run)' if run.dry_run else ''}</title></rect>"
            )
    first, last = runs[0].run_id, runs[-1].run_id
    parts.append(f'<text x="{left}" y="{height - 8}" font-size="10">{escape(first[:40])}</text>')
    if len(runs) > 1:
        parts.append(
            f'<text x="{width - 10}" y="{height - 8}" font-size="10" text-anchor="end">{escape(last[:40])}</text>'
        )
    parts.append("</svg>")
    legend = "".join(f'<span style="background:{colour}"></span>{name}' for name, colour in COLOURS.items())
    return (
        "".join(parts)
        + f'<div class="legend muted">{legend}<span style="border:1px solid #868e96"></span>dry run</div>'
    )


def rejections_table(rejections: Sequence[Rejection]) -> str:
    return _table(
        ["run", "object", "state", "reason"],
        ((r.run_id, r.key, r.state, r.reason) for r in rejections),
        "rejections",
    )


def pipeline_section(overview: PipelineOverview) -> str:
    head = f'<h2 id="pipeline-{escape(overview.name)}">Pipeline {escape(overview.name)}</h2>'
    head += f'<p class="muted">source <code>{escape(overview.source)}</code></p>'
    if overview.error:
        return head + f'<p class="error">cannot read staging: {escape(overview.error)}</p>'
    return (
        f'<section class="pipeline" data-pipeline="{escape(overview.name)}">{head}'
        f"<h3>Ledger totals by state</h3>{totals_table(overview.ledger_totals)}"
        f"<h3>Runs ({len(overview.runs)} latest)</h3>{runs_chart(overview.runs)}"
        f"<h3>Latest rejections</h3>{rejections_table(overview.rejections)}</section>"
    )


def export_section(export: ExportOverview) -> str:
    head = f'<h2 id="export-{escape(export.project)}">Export {escape(export.project)}</h2>'
    head += f'<p class="muted">warehouse <code>{escape(export.uri)}</code>; latest: {escape(export.latest or "-")}</p>'
    if export.error:
        return head + f'<p class="error">cannot read the warehouse: {escape(export.error)}</p>'
    keys = sorted({k for v in export.versions for k in v.counts})
    rows = (
        [v.version, v.kind, v.created_at, *[int(v.counts.get(k, 0)) for k in keys]] for v in export.versions
    )
    return (
        f'<section class="export" data-project="{escape(export.project)}">{head}'
        f"{_table(['version', 'kind', 'created', *keys], rows, 'versions')}</section>"
    )


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def render_dashboard(
    pipelines: Sequence[PipelineOverview], exports: Sequence[ExportOverview], generated_at: str
) -> str:
    """The UI plugin's page: one section per ingest pipeline and per label export."""
    body = f'<p class="muted">as of {escape(generated_at)}</p>'
    body += "".join(pipeline_section(p) for p in pipelines) or '<p class="muted">no pipelines configured</p>'
    body += "".join(export_section(e) for e in exports)
    return _page("Encord pipelines", body)


def render_html_report(report: dict[str, Any], history: Sequence[dict[str, Any]] = ()) -> str:
    """One run's report.json as a page; `history` (earlier reports, oldest first) adds the runs chart."""
    runs = [*(r for r in history if r.get("run_id") != report.get("run_id")), report]
    run = RunPoint.from_report(report)
    states = report.get("states") or {}
    chunks = report.get("chunks") or []
    body = (
        f"<p>run <code>{escape(str(report.get('run_id')))}</code>"
        f"{' (dry run: nothing registered)' if run.dry_run else ''}; {int(report.get('objects', 0))} objects</p>"
        f"<h2>This run by state</h2>{totals_table({str(k): int(v) for k, v in states.items()})}"
        f"<h2>Ledger totals by state</h2>{totals_table(dict(report.get('ledger_totals') or {}))}"
        f"<h2>Runs ({len(runs)} latest)</h2>{runs_chart([RunPoint.from_report(r) for r in runs])}"
        f"<h2>Rejections and failures</h2>{rejections_table(rejections_of([report], limit=1000))}"
    )
    if report.get("errors_truncated"):
        body += f'<p class="muted">{int(report["errors_truncated"])} more in report.json</p>'
    if chunks:
        body += "<h2>Chunks</h2>" + _table(
            ["chunk", "upload job", "status", *REPORT_CHUNK_COUNTS],
            (
                [
                    c.get("plan_uri", ""),
                    c.get("upload_job_id", ""),
                    c.get("status", ""),
                    *[int(c.get(k, 0)) for k in REPORT_CHUNK_COUNTS],
                ]
                for c in chunks
                if isinstance(c, dict)
            ),  # fmt: skip
        )
    return _page(f"Encord ingest {report.get('pipeline', '')}", body)

"""The per-run report (`<staging>/runs/<name>/<run id>/report.json`), its log summary, and the counts the
ingest Asset event carries. Plain Python.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ledger import Ledger
from encord_provider.storage.base import ObjectStore

MAX_ERRORS_IN_REPORT = 1000


def run_report(
    pipeline: IngestPipeline,
    ledger: Ledger,
    run_id: str,
    run_base_uri: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Counts per state for this run's objects, per-file errors, and the whole ledger's totals."""
    return report_from_part(
        pipeline, shard_part(ledger, run_base_uri), ledger.watermark.to_json(), run_id, extra
    )


def shard_part(ledger: Ledger, run_base_uri: str) -> dict[str, Any]:
    """What one ledger (shard) contributes to the run report, streamed from its table."""
    states: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    error_count = 0
    for record in ledger.with_chunk_prefix(run_base_uri):  # an opened ledger: the run's blocks only
        states[str(record.state)] += 1
        if record.error:
            error_count += 1
            if len(errors) < MAX_ERRORS_IN_REPORT:
                errors.append({"key": record.key, "state": str(record.state), "error": record.error})
    return {"objects": sum(states.values()), "states": dict(states), "errors": errors, "error_count": error_count,
            "ledger_totals": ledger.counts(), "ledger_problems": [p.to_json() for p in ledger.problems]}  # fmt: skip


def report_from_part(
    pipeline: IngestPipeline, part: dict[str, Any], watermark: dict[str, Any], run_id: str, extra: dict[str, Any]
) -> dict[str, Any]:  # fmt: skip
    """The run report from the (merged) parts of its shards."""
    errors = list(part.get("errors") or [])[:MAX_ERRORS_IN_REPORT]
    return {
        "pipeline": pipeline.name,
        "run_id": run_id,
        "objects": part.get("objects", 0),
        "states": part.get("states", {}),
        "errors": errors,
        "errors_truncated": max(0, int(part.get("error_count", 0)) - len(errors)),
        "ledger_totals": part.get("ledger_totals", {}),
        "watermark": watermark,
        **extra,
    }


def dry_run_report(pipeline: IngestPipeline, run_id: str, plan: dict[str, Any]) -> dict[str, Any]:
    """What a real run would register now: objects and entries per data type, and the manifests."""
    return {
        "pipeline": pipeline.name,
        "run_id": run_id,
        "dry_run": True,
        "would_register": {
            "objects": plan.get("objects", 0),
            "entries": plan.get("entries", 0),
            "by_type": plan.get("by_type", {}),
            "manifests": plan.get("manifests", []),
        },
        "would_reject": plan.get("rejected", 0),
        "rejections_uri": plan.get("rejections_uri", ""),
        "already_known": plan.get("already_known", 0),
        "bucket_changes": plan.get("bucket_changes", {}),
        "listing": plan.get("listing", {}),
        "objects": 0,
        "states": {},
        "errors": [],
        "errors_truncated": 0,
    }


def write_report(staging: ObjectStore, key: str, report: dict[str, Any]) -> str:
    staging.write_bytes(key, json.dumps(report, indent=1, default=str).encode(), "application/json")
    return staging.uri(key)


def _by_type_text(by_type: dict[str, dict[str, int]]) -> str:
    return ", ".join(
        f"{kind} {c['entries']} entries / {c['objects']} objects" for kind, c in sorted(by_type.items())
    )


def summary_text(report: dict[str, Any]) -> str:
    """A few readable lines for the task log."""
    if report.get("dry_run"):
        would = report["would_register"]
        lines = [
            f"Encord ingest {report['pipeline']} DRY RUN {report['run_id']}: would register {would['objects']} "
            f"objects in {would['entries']} entries ({_by_type_text(would['by_type']) or 'nothing new'}); "
            f"would reject {report['would_reject']}; {report['already_known']} already in the ledger",
            f"  manifests ({len(would['manifests'])}): " + (", ".join(would["manifests"][:10]) or "none"),
        ]
        if report.get("rejections_uri") and report["would_reject"]:
            lines.append(f"  rejections: {report['rejections_uri']}")
        return "\n".join(lines + _change_lines(report.get("bucket_changes") or {}))
    lines = [
        f"Encord ingest {report['pipeline']} run {report['run_id']}: {report['objects']} objects this run",
        "  by state: " + (", ".join(f"{k}={v}" for k, v in sorted(report["states"].items())) or "none"),
        "  ledger totals: "
        + (", ".join(f"{k}={v}" for k, v in sorted(report["ledger_totals"].items())) or "none"),
    ]
    lines += _change_lines(report.get("bucket_changes") or {})
    for what, value in sorted((report.get("reconciled") or {}).items()):
        lines.append(f"  reconciled with Encord: {what}: {value}")
    for error in report["errors"][:20]:
        lines.append(f"  ! {error['key']} [{error['state']}]: {error['error']}")
    if len(report["errors"]) > 20:
        lines.append(
            f"  ... {len(report['errors']) - 20 + report['errors_truncated']} more errors in the report"
        )
    return "\n".join(lines)


def _change_lines(changes: dict[str, Any]) -> list[str]:
    lines = []
    for kind in ("overwritten", "deleted"):
        count = changes.get(f"{kind}_count", 0)
        if count:
            keys = ", ".join(str(c["key"]) for c in changes[kind][:5])
            lines.append(
                f"  {kind} in the bucket since registered: {count} ({keys}{', ...' if count > 5 else ''})"
            )
    return lines


def asset_counts(
    chunks: Sequence[dict[str, Any]], link: dict[str, Any], settled: dict[str, int]
) -> dict[str, int]:
    """What this run newly registered or linked; the ingest Asset event is emitted only when non-zero."""
    registered = sum(int(c.get("registered", 0)) for c in chunks) + int(settled.get("registered", 0))
    rows = sum(int(n) for n in (link.get("datasets") or {}).values())
    return {
        "registered": registered,
        "linked": int(link.get("linked_objects", 0)),
        "dataset_rows_added": rows,
        "rejected": sum(int(c.get("rejected", 0)) for c in chunks),
        "failed": sum(int(c.get("failed", 0)) for c in chunks),
    }


def is_news(counts: dict[str, int]) -> bool:
    return bool(counts["registered"] or counts["linked"] or counts["dataset_rows_added"])

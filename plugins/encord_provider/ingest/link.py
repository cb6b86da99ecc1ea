"""Link registered items into the pipeline's datasets and write the per-run report. Plain Python."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.encord_api import FolderIndex, index_folder, link_items
from encord_provider.ledger import LINKABLE_STATES, Ledger, LedgerRecord, ObjectState
from encord_provider.storage.base import ObjectStore

log = logging.getLogger(__name__)
MAX_ERRORS_IN_REPORT = 1000


def resolve_duplicates(
    ledger: Ledger, client: Any, folder_uuid: str, url_of: Callable[[str], str]
) -> list[LedgerRecord]:
    """Find item uuids of objects Encord skipped as duplicates; unknown ones go back for a retry."""
    missing = [r for r in ledger.in_state(ObjectState.DUPLICATE) if not r.item_uuid]
    if not missing:
        return []
    index: FolderIndex = index_folder(client, folder_uuid)
    updates = []
    for record in missing:
        uuid = index.find(url_of(record.key), record.entry)
        if uuid:
            updates.append(record.moved(ObjectState.DUPLICATE, item_uuid=uuid))
        else:
            error = "skipped by Encord but not found in the folder; retrying"
            updates.append(record.moved(ObjectState.FAILED, error=error, attempts=record.attempts + 1))
    return updates


def link_ready_items(ledger: Ledger, client: Any, dataset_hashes: list[str], run_id: str) -> dict[str, Any]:
    """Link every registered / duplicate item that has an item uuid into every dataset, then mark linked.

    Covers items left unlinked by earlier runs (a crash between register and link). SKIP duplicates makes
    a repeat harmless.
    """
    ready = [r for r in ledger.records.values() if r.state in LINKABLE_STATES and r.item_uuid]
    uuids = sorted({r.item_uuid for r in ready if r.item_uuid})
    new_rows: dict[str, int] = {}
    if not dataset_hashes:
        return {"items": len(uuids), "datasets": {}, "linked_objects": 0}
    for dataset_hash in dataset_hashes:
        new_rows[dataset_hash] = link_items(client, dataset_hash, uuids) if uuids else 0
    ledger.write([r.moved(ObjectState.LINKED) for r in ready], writer=f"link:{run_id}")
    return {"items": len(uuids), "datasets": new_rows, "linked_objects": len(ready)}


def run_report(
    pipeline: IngestPipeline,
    ledger: Ledger,
    run_id: str,
    run_base_uri: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """Counts per state for this run's objects, per-file errors, and the whole ledger's totals."""
    mine = [r for r in ledger.records.values() if r.chunk and r.chunk.startswith(run_base_uri)]
    errors = [{"key": r.key, "state": str(r.state), "error": r.error} for r in mine if r.error]
    return {
        "pipeline": pipeline.name,
        "run_id": run_id,
        "objects": len(mine),
        "states": dict(Counter(str(r.state) for r in mine)),
        "errors": errors[:MAX_ERRORS_IN_REPORT],
        "errors_truncated": max(0, len(errors) - MAX_ERRORS_IN_REPORT),
        "ledger_totals": ledger.counts(),
        "watermark": ledger.watermark.to_json(),
        **extra,
    }


def write_report(staging: ObjectStore, key: str, report: dict[str, Any]) -> str:
    staging.write_bytes(key, json.dumps(report, indent=1, default=str).encode(), "application/json")
    return staging.uri(key)


def summary_text(report: dict[str, Any]) -> str:
    """A few readable lines for the task log."""
    lines = [
        f"Encord ingest {report['pipeline']} run {report['run_id']}: {report['objects']} objects this run",
        "  by state: " + (", ".join(f"{k}={v}" for k, v in sorted(report["states"].items())) or "none"),
        "  ledger totals: "
        + (", ".join(f"{k}={v}" for k, v in sorted(report["ledger_totals"].items())) or "none"),
    ]
    for error in report["errors"][:20]:
        lines.append(f"  ! {error['key']} [{error['state']}]: {error['error']}")
    if len(report["errors"]) > 20:
        lines.append(
            f"  ... {len(report['errors']) - 20 + report['errors_truncated']} more errors in the report"
        )
    return "\n".join(lines)

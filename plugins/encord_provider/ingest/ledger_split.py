"""Split a pipeline's ledger into the shards of its layout, when the layout changed (or on the first
sharded run). Runs under the pipeline lease, before any shard task reads its ledger.

The old ledgers are read one at a time (the old single ledger, or each old shard) and their records
are streamed, grouped by their new shard, into one new segment per shard; the watermark moves to the
pipeline ledger. `layout.json` is written last, so a crash part-way makes the next run split again
(which rewrites the same records: harmless).

The old ledgers' files are then deleted, crash-safely: the exact keys (listed before each old ledger is
read) go to `split-cleanup.json` before `layout.json` is written, and are deleted only once it is; a
crash after that is finished by the next run's prepare. An old ledger with records the new layout leaves
out (a prefix layout), or with files its load skipped (torn, corrupt), keeps its files. See
docs/ledger.md, "Migration".
"""

from __future__ import annotations

import json
import logging
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.shards import (
    ShardLayout,
    is_sharded,
    layout_key,
    layout_of,
    pipeline_ledger_prefix,
    shard_ledger_prefix,
)
from encord_provider.ingest.stores import ledger_prefix
from encord_provider.ledger import Ledger
from encord_provider.ledger.names import SEGMENTS, SNAPSHOTS
from encord_provider.ledger.table import rows_by
from encord_provider.storage.base import ObjectStore

log = logging.getLogger(__name__)
SINGLE = {"kind": "single", "hash": None, "hash_by": "folder"}


def read_layout(staging: ObjectStore, pipeline: IngestPipeline) -> dict[str, Any]:
    key = layout_key(pipeline)
    return json.loads(staging.read_bytes(key)) if staging.exists(key) else dict(SINGLE)


def old_ledger_prefixes(staging: ObjectStore, pipeline: IngestPipeline, old: dict[str, Any]) -> list[str]:
    """Where the ledgers of the old layout live."""
    root = ledger_prefix(pipeline)
    if old["kind"] == "single":
        return [root]
    found = staging.list_level(f"{root}/shards/")  # type: ignore[attr-defined]  # every backend has it
    prefixes = sorted(str(p).rstrip("/") for p in found if isinstance(p, str))
    if old["kind"] == "hash":  # only this layout's shards (a layout before it left its own directories)
        return [p for p in prefixes if p.endswith(f"-of-{int(old['hash']):04d}")]
    return [p for p in prefixes if p.rpartition("/")[2].startswith(("p-", "root"))]


def current_ledger_prefixes(staging: ObjectStore, pipeline: IngestPipeline) -> list[str]:
    """Where the shard ledgers of the pipeline's current layout live (those written so far)."""
    return old_ledger_prefixes(staging, pipeline, layout_of(pipeline).describe())


def _old_watermark_prefix(pipeline: IngestPipeline, old: dict[str, Any]) -> str:
    root = ledger_prefix(pipeline)
    return root if old["kind"] == "single" else f"{root}/pipeline"


def split_ledger(staging: ObjectStore, pipeline: IngestPipeline, run_id: str) -> dict[str, Any] | None:
    """Bring the ledger to the pipeline's shard layout; returns what was moved, None if nothing to do."""
    layout = layout_of(pipeline)
    old, new = read_layout(staging, pipeline), layout.describe()
    if old == new:
        finish_cleanup(staging, pipeline, new)  # an earlier split committed, then stopped before this
        return None
    if old["kind"] == "single" and not is_sharded(pipeline):
        return None
    moved: dict[str, int] = {}
    left_out, superseded = 0, []
    for prefix in old_ledger_prefixes(staging, pipeline, old):
        files = _ledger_files(staging, prefix)  # before the read: only files that were read are deleted
        outside, whole = _split_one(staging, pipeline, layout, prefix, moved, run_id)
        left_out += outside
        superseded += files if whole and not outside else []
    watermark = Ledger(staging, _old_watermark_prefix(pipeline, old)).load().watermark
    if watermark.last_modified:
        Ledger(staging, pipeline_ledger_prefix(pipeline)).scan().write(
            [], watermark=watermark, writer=f"split:{run_id}"
        )
    body = {"layout": new, "keys": superseded}
    staging.write_bytes(cleanup_key(pipeline), json.dumps(body).encode(), "application/json")
    staging.write_bytes(layout_key(pipeline), json.dumps(new).encode(), "application/json")  # the commit
    deleted = finish_cleanup(staging, pipeline, new)
    summary = {
        "from": old,
        "to": new,
        "records_by_shard": moved,
        "left_out": left_out,
        "old_files_deleted": deleted,
    }
    log.warning("split the ledger of %s into shards: %s", pipeline.name, summary)
    return summary


def _split_one(
    staging: ObjectStore, pipeline: IngestPipeline, layout: ShardLayout, prefix: str, moved: dict[str, int],
    run_id: str,
) -> tuple[int, bool]:  # fmt: skip
    """Move one old ledger's records into the new shards; returns how many belong to none, and whether its
    load read every file (none skipped as torn or corrupt)."""
    source = Ledger(staging, prefix).load()
    left_out = 0
    for shard_id, rows in rows_by(source.records, layout.assign):
        if shard_id is None:
            left_out += sum(1 for _ in rows)
            continue
        counted = _counting(rows, moved, shard_id)
        Ledger(staging, shard_ledger_prefix(pipeline, shard_id)).scan().append_rows(
            counted, writer=f"split:{run_id}"
        )
    source.records.close()
    return left_out, not source.problems


def cleanup_key(pipeline: IngestPipeline) -> str:
    return f"{ledger_prefix(pipeline)}/split-cleanup.json"


def _ledger_files(staging: ObjectStore, prefix: str) -> list[str]:
    """The segment and snapshot files of one ledger (its quarantine is kept for a person)."""
    return [o.key for folder in (SEGMENTS, SNAPSHOTS) for o in staging.list_objects(f"{prefix}/{folder}/")]


def finish_cleanup(staging: ObjectStore, pipeline: IngestPipeline, committed: dict[str, Any]) -> int:
    """Delete the old files a split superseded, once its layout is the committed one; returns how many.
    A cleanup list of a split that never committed names live files: it is dropped, nothing deleted."""
    key = cleanup_key(pipeline)
    if not staging.exists(key):
        return 0
    body = json.loads(staging.read_bytes(key))
    keys = body["keys"] if body.get("layout") == committed else []
    for old in keys:
        staging.delete(old)  # idempotent: a retry after a crash part-way deletes the rest
    staging.delete(key)
    if keys:
        log.info("deleted %d ledger files superseded by the split of %s", len(keys), pipeline.name)
    return len(keys)


def _counting(rows: Any, moved: dict[str, int], shard_id: str) -> Any:
    for row in rows:
        moved[shard_id] = moved.get(shard_id, 0) + 1
        yield row

"""Objects that changed in the bucket after they were registered, and the pipeline's policy for them.

Found while planning, from the listing and the ledger:

- **overwritten**: a registered object whose ETag changed. `bucket_changes.overwritten`:
  `report` (default) records the new ETag and reports it once; Encord keeps the first version.
  `update_metadata` sends the object again with `upsert_metadata`, so Encord updates the item's client
  metadata in place (same item, links and labels).
- **deleted**: an object the ledger knows that a complete listing of the prefix no longer shows.
  Its record becomes `deleted`. `bucket_changes.deleted`: `report` (default), or `archive`, which also
  tags the item's client metadata with `encord_ingest.deleted_from_bucket`. The item stays in the folder
  and the datasets either way; an object that comes back is registered again (found as a duplicate URL).

Every run's report lists both (`bucket_changes.overwritten` / `.deleted`); nothing changes silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.encord_api import EncordApi
from encord_provider.ledger import SETTLED_STATES, Ledger, LedgerRecord, ObjectState, utc_now

MAX_LISTED = 1000  # keys per kind in the report


@dataclass
class BucketChanges:
    overwritten: list[dict[str, Any]] = field(default_factory=list)  # key, item, old_etag, new_etag, action
    deleted: list[dict[str, Any]] = field(default_factory=list)  # key, item, action
    records: list[LedgerRecord] = field(default_factory=list)  # ledger updates to write
    to_resend: set[str] = field(default_factory=set)  # keys planned again with upsert_metadata

    def report(self) -> dict[str, Any]:
        return {
            "overwritten": self.overwritten[:MAX_LISTED],
            "overwritten_count": len(self.overwritten),
            "deleted": self.deleted[:MAX_LISTED],
            "deleted_count": len(self.deleted),
        }


def is_overwritten(previous: LedgerRecord | None, etag: str) -> bool:
    return previous is not None and previous.state in SETTLED_STATES and bool(etag) and previous.etag != etag


def note_overwritten(
    pipeline: IngestPipeline, changes: BucketChanges, previous: LedgerRecord, etag: str
) -> None:
    """Record one overwritten object under the pipeline's policy (called while the listing streams)."""
    policy = pipeline.bucket_changes.overwritten
    changes.overwritten.append(
        {"key": previous.key, "item": previous.item_uuid, "old_etag": previous.etag, "new_etag": etag,
         "action": "metadata update sent" if policy == "update_metadata" else "reported"}
    )  # fmt: skip
    if policy == "update_metadata":
        changes.to_resend.add(previous.key)
        return
    note = (f"overwritten in the bucket (etag {previous.etag} -> {etag}); Encord keeps the version registered "
            "first (bucket_changes.overwritten: report)")  # fmt: skip
    changes.records.append(previous.moved(previous.state, etag=etag, error=note))


def note_deleted(ledger: Ledger, listed: set[str], prefix: str, changes: BucketChanges) -> None:
    """Records under `prefix` that a complete listing did not show become `deleted`."""
    for record in ledger.records.values():
        if record.state == ObjectState.DELETED or not record.key.startswith(prefix) or record.key in listed:
            continue
        changes.deleted.append({"key": record.key, "item": record.item_uuid, "was": str(record.state)})
        note = f"deleted from the bucket (seen missing {utc_now()}); was {record.state}"
        changes.records.append(record.moved(ObjectState.DELETED, error=note))


def archive_deleted(pipeline: IngestPipeline, api: EncordApi, changes: BucketChanges) -> int:
    """Apply `bucket_changes.deleted: archive` to this run's deleted objects; returns items tagged."""
    items = [str(d["item"]) for d in changes.deleted if d.get("item")]
    for entry in changes.deleted:
        entry["action"] = (
            "archived (client metadata tagged)"
            if pipeline.bucket_changes.deleted == "archive" and entry.get("item")
            else "reported"
        )
    if pipeline.bucket_changes.deleted != "archive" or not items:
        return 0
    return api.tag_items(items, {"deleted_from_bucket": utc_now()})

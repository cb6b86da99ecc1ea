"""Objects that changed in the bucket after they were registered, and the pipeline's policy for them.

Found while planning, from the listing and the ledger:

- **overwritten**: a registered object whose ETag changed. Encord keys items by URL, so the object is not
  registered again (that would put its URL in the folder twice). `bucket_changes.overwritten`:
  `report` (default) records the new ETag in the ledger and reports the object once;
  `update_metadata` also writes the new ETag, size and modification time into the item's client
  metadata (`encord_ingest.source`), so Index shows that the source changed. The item keeps the media
  metadata Encord read at registration.
- **deleted**: an object the ledger knows that a complete listing of the prefix no longer shows. Its
  record becomes `deleted`. `bucket_changes.deleted`: `report` (default), or `archive`, which also tags the
  item's client metadata (`encord_ingest.deleted_from_bucket`). The item stays in the folder and the
  datasets either way; an object that comes back is registered again (found as a duplicate URL).
  With `approval: {above_deletions: N}` the archive waits for a person: plan holds the deletions that have
  an item (their records stay as they were, ingest/archive.py), and the `archive` task applies them.

Every run's report lists both (`bucket_changes.overwritten` / `.deleted`); nothing changes silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.encord_api import EncordApi
from encord_provider.ledger import SETTLED_STATES, Ledger, LedgerRecord, ObjectState, utc_now
from encord_provider.storage.records import ObjectRecord

MAX_LISTED = 1000  # objects per kind listed in the report (the counts are complete)
AWAITING_APPROVAL = "awaiting approval (approval.above_deletions)"
ARCHIVED = "archived (item metadata tagged)"


@dataclass
class BucketChanges:
    overwritten: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    records: list[LedgerRecord] = field(default_factory=list)  # ledger updates to write with the plan
    hold_deletions: bool = False  # approval.above_deletions: archive only once a person approves
    held: list[LedgerRecord] = field(default_factory=list)  # their `deleted` records, written by `archive`

    @classmethod
    def of(cls, pipeline: IngestPipeline) -> BucketChanges:
        return cls(hold_deletions=deletions_need_approval(pipeline))

    def report(self) -> dict[str, Any]:
        return {
            "overwritten": self.overwritten[:MAX_LISTED],
            "overwritten_count": len(self.overwritten),
            "deleted": self.deleted[:MAX_LISTED],
            "deleted_count": len(self.deleted),
            "awaiting_approval": len(self.held),
        }


def deletions_need_approval(pipeline: IngestPipeline) -> bool:
    """Whether a run archives deletions only after the `approve_archive` task (approval.above_deletions)."""
    approval = pipeline.approval
    return bool(
        approval and approval.above_deletions is not None and pipeline.bucket_changes.deleted == "archive"
    )


def is_overwritten(previous: LedgerRecord, etag: str) -> bool:
    return previous.state in SETTLED_STATES and bool(etag) and previous.etag != etag


def note_overwritten(pipeline: IngestPipeline, changes: BucketChanges, previous: LedgerRecord,
                     record: ObjectRecord) -> None:  # fmt: skip
    """Record one overwritten object (while the listing streams); the policy is applied after planning."""
    changes.overwritten.append(
        {"key": previous.key, "item": previous.item_uuid, "old_etag": previous.etag, "new_etag": record.etag,
         "size": record.size, "last_modified": record.last_modified.isoformat(), "action": "reported"}
    )  # fmt: skip
    note = (f"overwritten in the bucket (etag {previous.etag} -> {record.etag}); Encord keeps the item "
            f"registered first (bucket_changes.overwritten: {pipeline.bucket_changes.overwritten})")  # fmt: skip
    changes.records.append(previous.moved(previous.state, etag=record.etag, error=note))


def note_deleted(
    ledger: Ledger,
    listed: set[str],
    prefix: str,
    changes: BucketChanges,
    mine: Callable[[str], bool] | None = None,
) -> None:
    """Records under `prefix` that a complete listing did not show become `deleted` (with `mine`, only the
    keys of the shard that listed: an unsplit ledger holds every shard's)."""
    for record in ledger.records.values():
        if record.state == ObjectState.DELETED or not record.key.startswith(prefix) or record.key in listed:
            continue
        if mine is not None and not mine(record.key):
            continue
        # (an object without an item has nothing to archive: its record moves at once)
        held = changes.hold_deletions and bool(record.item_uuid)
        changes.deleted.append({"key": record.key, "item": record.item_uuid, "was": str(record.state),
                                "action": AWAITING_APPROVAL if held else "reported"})  # fmt: skip
        note = f"deleted from the bucket (found missing {utc_now()}); was {record.state}"
        (changes.held if held else changes.records).append(record.moved(ObjectState.DELETED, error=note))


def deleted_tag() -> dict[str, Any]:
    """What `archive` merges into an item's `encord_ingest` client metadata."""
    return {"deleted_from_bucket": utc_now()}


def apply_policies(pipeline: IngestPipeline, api: EncordApi, changes: BucketChanges) -> dict[str, int]:
    """Tag the items of overwritten (`update_metadata`) and deleted (`archive`) objects; returns counts."""
    tags: dict[str, dict[str, Any]] = {}
    if pipeline.bucket_changes.overwritten == "update_metadata":
        for entry in changes.overwritten:
            if entry["item"]:
                tags[entry["item"]] = {"source": {"etag": entry["new_etag"], "size": entry["size"],
                                                  "last_modified": entry["last_modified"], "overwritten_at": utc_now()}}  # fmt: skip
                entry["action"] = "item metadata updated"
    if pipeline.bucket_changes.deleted == "archive":
        for entry in changes.deleted:
            if entry["item"] and entry.get("action") != AWAITING_APPROVAL:
                tags[entry["item"]] = deleted_tag()
                entry["action"] = ARCHIVED
    return {"items_tagged": api.tag_items(tags)} if tags else {}

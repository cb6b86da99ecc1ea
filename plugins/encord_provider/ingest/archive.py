"""Deletions archived only once a person approves (`approval: {above_deletions: N}`).

Plan holds the deletions whose items `bucket_changes: {deleted: archive}` would tag: their ledger records
stay as they were and their `deleted` records go to `<run>/held-deletions/<shard>.json`. After the
`approve_archive` task, `archive` tags exactly those items and then writes the records (a crash between
the two only tags them again on retry). When the request is rejected or times out, `archive` is skipped:
nothing is tagged, the records stay, so the next complete listing finds the same deletions and asks again.
Finalize reports what became of them (`archived.json` is written only by `archive`).

Plain Python: a store, the Encord gateway and the ledger.
"""

from __future__ import annotations

import json
from typing import Any

from encord_provider.encord_api import EncordApi
from encord_provider.ingest.changes import ARCHIVED, AWAITING_APPROVAL, deleted_tag
from encord_provider.ledger import Ledger, LedgerRecord
from encord_provider.storage.base import ObjectStore

HELD_DIR = "held-deletions"
OUTCOME = "archived.json"
NOT_ARCHIVED = "not archived: approval rejected or unanswered (offered again next run)"


def held_key(run_base: str, shard_id: str) -> str:
    return f"{run_base}/{HELD_DIR}/{shard_id}.json"


def write_held(
    staging: ObjectStore, run_base: str, shard_id: str, ledger_prefix: str, held: list[LedgerRecord]
) -> None:
    """Leave one shard's held deletions for `archive` (a re-planned shard replaces, or drops, its file)."""
    key = held_key(run_base, shard_id)
    if not held:
        if staging.exists(key):
            staging.delete(key)
        return
    body = {"ledger": ledger_prefix, "records": [record.to_json() for record in held]}
    staging.write_bytes(key, json.dumps(body).encode(), "application/json")


def read_held(staging: ObjectStore, run_base: str) -> list[tuple[str, list[LedgerRecord]]]:
    """(ledger prefix, held `deleted` records) of every shard of the run that held some."""
    found = []
    for listed in staging.list_objects(f"{run_base}/{HELD_DIR}/"):
        body = json.loads(staging.read_bytes(listed.key))
        found.append((str(body["ledger"]), [LedgerRecord.from_json(r) for r in body["records"]]))
    return found


def archive_held(staging: ObjectStore, api: EncordApi, run_base: str, writer: str) -> dict[str, int]:
    """Tag the items of the run's held deletions, then write their `deleted` records; returns counts."""
    held = read_held(staging, run_base)
    items = sorted({r.item_uuid for _, records in held for r in records if r.item_uuid})
    tagged = api.tag_items({item: deleted_tag() for item in items}) if items else 0
    for prefix, records in held:
        Ledger(staging, prefix).scan().write(records, writer=writer)
    counts = {"items_tagged": tagged, "records": sum(len(records) for _, records in held)}
    outcome = {"items": items, **counts}
    staging.write_bytes(f"{run_base}/{OUTCOME}", json.dumps(outcome).encode(), "application/json")
    return counts


def with_archive_outcome(staging: ObjectStore, run_base: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The plan's `bucket_changes` with the held deletions' action set to what `archive` did (or not)."""
    if not changes.get("awaiting_approval"):
        return changes
    key = f"{run_base}/{OUTCOME}"
    archived = set(json.loads(staging.read_bytes(key))["items"]) if staging.exists(key) else set()
    deleted = [
        {**entry, "action": ARCHIVED if entry.get("item") in archived else NOT_ARCHIVED}
        if entry.get("action") == AWAITING_APPROVAL
        else entry
        for entry in changes.get("deleted") or []
    ]
    return {**changes, "deleted": deleted, "archived_after_approval": len(archived)}

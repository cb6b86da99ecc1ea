"""Link registered items into the pipeline's datasets. Plain Python over the ledger and `EncordApi`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from encord_provider.encord_api import EncordApi
from encord_provider.ledger import LINKABLE_STATES, Ledger, LedgerRecord, ObjectState

log = logging.getLogger(__name__)


def resolve_duplicates(
    ledger: Ledger, api: EncordApi, folder_uuid: str, url_of: Callable[[str], str]
) -> list[LedgerRecord]:
    """Find item uuids of objects Encord skipped as duplicates; unknown ones go back for a retry."""
    missing = [r for r in ledger.in_state(ObjectState.DUPLICATE) if not r.item_uuid]
    if not missing:
        return []
    index = api.folder_index(folder_uuid)
    updates = []
    for record in missing:
        uuid = index.find(url_of(record.key), record.entry)
        if uuid:
            updates.append(record.moved(ObjectState.DUPLICATE, item_uuid=uuid))
        else:
            error = "skipped by Encord but not found in the folder; retrying"
            updates.append(record.moved(ObjectState.FAILED, error=error, attempts=record.attempts + 1))
    return updates


def linked_items(ledger: Ledger) -> list[str]:
    return sorted({r.item_uuid for r in ledger.in_state(ObjectState.LINKED) if r.item_uuid})


def link_ready_items(
    ledger: Ledger, api: EncordApi, dataset_hashes: list[str], run_id: str, backfill: list[str] | None = None
) -> dict[str, Any]:
    """Link every registered / duplicate item into every dataset, then mark those objects linked.

    Covers items left unlinked by earlier runs (a crash between register and link). The datasets in
    `backfill` (added to the config, or recreated after a deletion) also receive every item linked
    before. `link_items` skips duplicates, so a repeat is harmless.
    """
    ready = [r for r in ledger.in_state(*LINKABLE_STATES) if r.item_uuid]  # (an opened ledger: few blocks)
    ready_items = sorted({r.item_uuid for r in ready if r.item_uuid})
    backfills = [h for h in dataset_hashes if h in (backfill or ())]
    linked_before = linked_items(ledger) if backfills else []  # every linked block: only when needed
    new_rows: dict[str, int] = {}
    backfilled: dict[str, int] = {}
    for dataset_hash in dataset_hashes:
        items = ready_items
        if dataset_hash in backfills:
            items = sorted({*ready_items, *linked_before})
            backfilled[dataset_hash] = len(linked_before)
        new_rows[dataset_hash] = api.link_items(dataset_hash, items) if items else 0
    ledger.write(
        [r.moved(ObjectState.LINKED) for r in ready], writer=f"link:{run_id}"
    )  # (vacuous with 0 datasets)
    return {
        "items": len(ready_items),
        "datasets": new_rows,
        "linked_objects": len(ready),
        "backfilled": backfilled,
    }

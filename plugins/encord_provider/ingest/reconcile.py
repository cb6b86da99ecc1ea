"""Before a run trusts the ledger: settle upload jobs earlier runs left in flight, and requeue what the
ledger says is registered when its folder was deleted or replaced in Encord.

Plain Python over the staging store, the ledger and `EncordApi`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime

from encord_provider.encord_api import EncordApi, FolderIndex
from encord_provider.ingest.chunks import ChunkPlan, apply_job_result, read_plan
from encord_provider.ingest.jobs import JobMarker, entries_subset, find_entries, marker_key, note_progress
from encord_provider.ingest.markers import read_marker
from encord_provider.ledger import SETTLED_STATES, Ledger, LedgerRecord, ObjectState
from encord_provider.storage.base import ConditionalStore

log = logging.getLogger(__name__)


def _marker(staging: ConditionalStore, plan_uri: str) -> JobMarker | None:
    return read_marker(staging, marker_key(staging, plan_uri), JobMarker)


class EarlierJobs:
    """Settles the `submitted` objects of earlier (possibly crashed) runs before a new run plans."""

    def __init__(self, *, staging: ConditionalStore, ledger: Ledger, api: EncordApi, folder_uuid: str,
                 settle_seconds: float, max_attempts: int) -> None:  # fmt: skip
        self.staging = staging
        self.ledger = ledger
        self.api = api
        self.folder_uuid = folder_uuid
        self.settle_seconds = settle_seconds
        self.max_attempts = max_attempts
        self._index: FolderIndex | None = None

    def settle(self) -> dict[str, int]:
        """Counts of settled objects by new state, plus `in_flight` for those left alone."""
        by_chunk: dict[tuple[str, str], list[LedgerRecord]] = defaultdict(list)
        for record in self.ledger.in_state(ObjectState.SUBMITTED):
            by_chunk[(record.chunk or "", record.upload_job_id or "")].append(record)
        outcome: dict[str, int] = defaultdict(int)
        for (plan_uri, job_id), records in by_chunk.items():
            updates = self._settle_chunk(plan_uri, job_id, records)
            self.ledger.write(updates, writer=f"reconcile:{job_id or plan_uri}")
            for record in updates:
                outcome[str(record.state)] += 1
            outcome["in_flight"] += len(records) - len(updates)
        return dict(outcome)

    def _settle_chunk(self, plan_uri: str, job_id: str, records: list[LedgerRecord]) -> list[LedgerRecord]:
        if not plan_uri:
            return [r.moved(ObjectState.FAILED, error="submitted without a chunk; retrying") for r in records]
        marker = _marker(self.staging, plan_uri)
        job_id = job_id or (marker.upload_job_id if marker else None) or ""
        plan = read_plan(self.staging, plan_uri)
        mine = {r.key for r in records}
        if job_id:
            return self._from_job(plan, plan_uri, job_id, records, mine)
        if marker is None or marker.outcome == "not_started":
            return [r.moved(ObjectState.PENDING, upload_job_id=None) for r in records]  # no job was started
        return self._from_evidence(plan, plan_uri, marker, records, mine)

    def _from_job(self, plan: ChunkPlan, plan_uri: str, job_id: str, records: list[LedgerRecord],
                  mine: set[str]) -> list[LedgerRecord]:  # fmt: skip
        from encord.exceptions import ResourceNotFoundError

        try:
            state = self.api.upload_job(self.folder_uuid, job_id)
        except ResourceNotFoundError:
            error = f"upload job {job_id} is unknown to Encord (folder {self.folder_uuid}); retrying"
            return [r.moved(ObjectState.FAILED, error=error) for r in records]
        if not state.finished:
            return []
        previous: dict[str, LedgerRecord | None] = {r.key: r for r in records}
        outcome = apply_job_result(plan, plan_uri, job_id, state, previous, self.max_attempts)
        return [r for r in outcome.records if r.key in mine]

    def _from_evidence(self, plan: ChunkPlan, plan_uri: str, marker: JobMarker, records: list[LedgerRecord],
                       mine: set[str]) -> list[LedgerRecord]:  # fmt: skip
        """A job may have started without its id being recorded: the folder says what it registered."""
        if self._index is None:
            self._index = self.api.folder_index(self.folder_uuid)
        sub_plan = entries_subset(plan, marker.entries)
        found = find_entries(self._index, sub_plan)
        if len(found) > marker.found:
            marker = note_progress(self.staging, marker_key(self.staging, plan_uri), marker, len(found))
        quiet = marker.quiet_seconds(datetime.now(UTC))
        settled = quiet >= self.settle_seconds
        updates = []
        for record in records:
            title = record.entry or ""
            if title in found:
                updates.append(record.moved(ObjectState.REGISTERED, item_uuid=found[title]))
            elif settled:
                error = (f"not in the folder, unchanged for {quiet:.0f}s after an upload job was started for "
                         "it (its id was lost to a crash or a 5xx); retrying")  # fmt: skip
                updates.append(record.moved(ObjectState.FAILED, error=error, attempts=record.attempts + 1))
        return [u for u in updates if u.key in mine]


def requeue_for_new_folder(ledger: Ledger, old_folder: str | None, new_folder: str, run_id: str) -> int:
    """The folder the ledger's items were registered into is gone: send every registered object again.

    Returns the number of objects requeued (they become `pending` and the next plan includes them)."""
    note = f"Encord folder {old_folder or '(unknown)'} was deleted or replaced by {new_folder}; registering again"
    requeued = [
        r.moved(ObjectState.PENDING, item_uuid=None, upload_job_id=None, error=note)
        for r in ledger.records.values()
        if r.state in SETTLED_STATES or r.state == ObjectState.SUBMITTED
    ]
    requeued += [r.moved(ObjectState.DELETED, item_uuid=None) for r in ledger.in_state(ObjectState.DELETED)]
    ledger.write(requeued, writer=f"requeue:{run_id}")
    if requeued:
        log.warning("%s: %d objects requeued", note, len(requeued))
    return len(requeued)

"""At most one upload job per chunk: the intent is recorded before a job starts, and every retry or rerun
first finds out what an earlier try did.

Each chunk has a marker `<chunk>.job.json` next to its plan in staging, written only with conditional
writes (`ConditionalStore`):

    {"chunk": <plan URI>, "manifest_sha256": ..., "intent_at": ..., "attempt": 1, "entries": null,
     "upload_job_id": null | "<uuid>", "outcome": "starting" | "started" | "not_started"}

1. No marker: create the intent (a concurrent try of the same chunk loses the create and starts over
   here), mark the objects `submitted` in the ledger, then start the job once.
   - accepted: record the job id, then wait on that job;
   - refused (bad manifest, key refused): record `not_started` and fail;
   - ambiguous (5xx, dropped connection: Encord may have started it): keep the intent and go to 3.
2. Marker with a job id: wait on that job. A retry never starts a second one.
3. Marker without a job id (a crash between the start and the record, or a lost response): look for the
   chunk's entries in the folder, by URL (single objects) or by title (groups, series).
   - every entry found: they are registered; no job is started;
   - some missing, and the folder gained one of the chunk's entries (or the intent was written) less than
     `unknown_job_settle_minutes` ago: wait and look again (the earlier job may still be running);
   - once the folder stayed unchanged that long, or at once when the marker says `not_started`: the
     missing entries go into a new job (attempt n + 1, `skip_duplicate_urls` on), with a new intent.
     A job slower than that to show its first item (or to go on from one to the next) could then
     register an entry twice: keep the setting above the longest such pause you see.

Plain Python over a conditional staging store, the ledger and `EncordApi`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from encord_provider.encord_api import EncordApi, FolderIndex, JobState
from encord_provider.ingest.chunks import ChunkPlan, apply_job_result
from encord_provider.ingest.errors import AmbiguousWriteError, PermanentIngestError
from encord_provider.ingest.markers import Marker, read_marker, write_marker
from encord_provider.ingest.stores import key_of_uri
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
from encord_provider.storage.base import ConditionalStore
from encord_provider.storage.errors import PreconditionFailedError

log = logging.getLogger(__name__)
Outcome = Literal["starting", "started", "not_started"]


def marker_key(staging: ConditionalStore, plan_uri: str) -> str:
    return key_of_uri(staging, plan_uri).removesuffix(".plan.json") + ".job.json"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobMarker(Marker):
    """The intent (and, once known, the job) of one registration attempt of a chunk."""

    chunk: str
    manifest_sha256: str
    intent_at: str
    attempt: int = 1
    entries: list[str] | None = None  # titles sent in this attempt; None = the whole chunk
    upload_job_id: str | None = None
    outcome: Outcome = "starting"
    found: int = 0  # entries seen in the folder while the job id is unknown
    found_at: str | None = None  # when `found` last grew

    def quiet_seconds(self, now: datetime) -> float:
        """Seconds since the intent was written or the folder last gained one of its entries."""
        return (now - datetime.fromisoformat(self.found_at or self.intent_at)).total_seconds()


@dataclass(frozen=True)
class WaitOnJob:
    """The chunk's objects are in upload job `job_id`: wait for it, then apply its result."""

    job_id: str
    attempt: int


@dataclass(frozen=True)
class AwaitEvidence:
    """An earlier try may have started a job whose id was lost: look again in `retry_in` seconds."""

    found: int
    missing: int
    retry_in: float


@dataclass(frozen=True)
class SettledByEvidence:
    """Every entry of the chunk was found in the folder; `records` say so (no job was started)."""

    records: list[LedgerRecord]


RegisterStep = WaitOnJob | AwaitEvidence | SettledByEvidence


def entries_subset(plan: ChunkPlan, titles: list[str] | None) -> ChunkPlan:
    if titles is None:
        return plan
    wanted = set(titles)
    entries = {t: objs for t, objs in plan.entries.items() if t in wanted}
    return ChunkPlan(plan.name, plan.manifest_uri, entries)


def manifest_subset(manifest: dict[str, Any], titles: list[str] | None) -> dict[str, Any]:
    """The manifest with only the entries titled `titles` (every type list filtered)."""
    if titles is None:
        return manifest
    wanted = set(titles)
    return {
        key: [e for e in value if isinstance(e, dict) and e.get("title") in wanted]
        if isinstance(value, list)
        else value
        for key, value in manifest.items()
    }


def _sha256(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def find_entries(index: FolderIndex, plan: ChunkPlan, titles: list[str] | None = None) -> dict[str, str]:
    """Entry title -> item uuid for the entries of `plan` already in the folder (by URL, else by title)."""
    found: dict[str, str] = {}
    for title, objects in entries_subset(plan, titles).entries.items():
        url = objects[0].url if len(objects) == 1 else None
        item = index.find(url, title)
        if item:
            found[title] = item
    return found


def registered_records(plan: ChunkPlan, plan_uri: str, found: dict[str, str]) -> list[LedgerRecord]:
    """Records of the entries found in the folder (registered by a job whose id was lost)."""
    return [
        LedgerRecord(key=o.key, etag=o.etag, state=ObjectState.REGISTERED, item_uuid=found[title], chunk=plan_uri,
                     entry=title, attempts=o.attempts)
        for title, objects in plan.entries.items() if title in found
        for o in objects
    ]  # fmt: skip


def chunk_records(
    plan: ChunkPlan, plan_uri: str, state: ObjectState, job_id: str | None = None
) -> list[LedgerRecord]:
    return [
        LedgerRecord(key=o.key, etag=o.etag, state=state, upload_job_id=job_id, chunk=plan_uri, entry=title,
                     attempts=o.attempts)
        for title, objects in plan.entries.items()
        for o in objects
    ]  # fmt: skip


class ChunkRegistration:
    """Registers one chunk with at most one upload job per attempt, surviving crashes and lost responses."""

    def __init__(
        self,
        *,
        staging: ConditionalStore,
        ledger: Ledger,
        api: EncordApi,
        plan_uri: str,
        plan: ChunkPlan,
        folder_uuid: str,
        integration_id: str,
        settle_seconds: float,
        poll_seconds: float = 5.0,
        max_attempts: int = 3,
    ) -> None:
        """`max_attempts` bounds the upload jobs of this chunk and the unit errors of one object."""
        self.staging = staging
        self.ledger = ledger
        self.api = api
        self.plan_uri = plan_uri
        self.plan = plan
        self.folder_uuid = folder_uuid
        self.integration_id = integration_id
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts
        self.key = marker_key(staging, plan_uri)

    # -- the marker -----------------------------------------------------------------------------

    def read_marker(self) -> JobMarker | None:
        return read_marker(self.staging, self.key, JobMarker)

    def _write_marker(self, marker: JobMarker, replacing: JobMarker | None) -> JobMarker:
        return write_marker(self.staging, self.key, marker, replacing)

    def _manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads(
            self.staging.read_bytes(key_of_uri(self.staging, self.plan.manifest_uri))
        )
        manifest["skip_duplicate_urls"] = True
        return manifest

    # -- the steps ------------------------------------------------------------------------------

    def next_step(self) -> RegisterStep:
        """What to do now: wait on a known job, wait for evidence, or nothing left (settled)."""
        marker = self.read_marker()
        if marker is None:
            try:
                return self._start(attempt=1, titles=None, replacing=None)
            except PreconditionFailedError:
                marker = self.read_marker()  # another try of this chunk wrote its intent first
                assert marker is not None
        if marker.upload_job_id:
            return WaitOnJob(marker.upload_job_id, marker.attempt)
        return self._look_for_evidence(marker)

    def _start(self, attempt: int, titles: list[str] | None, replacing: JobMarker | None) -> RegisterStep:
        manifest = manifest_subset(self._manifest(), titles)
        sub_plan = entries_subset(self.plan, titles)
        intent = JobMarker(self.plan_uri, _sha256(manifest), _now().isoformat(), attempt, titles)
        intent = self._write_marker(intent, replacing)  # before anything can reach Encord
        submitted = ObjectState.SUBMITTED
        self.ledger.write(chunk_records(sub_plan, self.plan_uri, submitted), writer=f"intent:{self.plan_uri}")
        try:
            job_id = self.api.start_upload_job(self.folder_uuid, self.integration_id, manifest)
        except AmbiguousWriteError as err:
            log.warning("%s: %s; looking for the job's items before anything else", self.plan.name, err)
            return self._look_for_evidence(intent)
        except Exception:  # refused, or failed before the request: no job exists
            self._write_marker(intent.changed(outcome="not_started"), intent)
            pending = chunk_records(sub_plan, self.plan_uri, ObjectState.PENDING)
            self.ledger.write(pending, writer=f"not-started:{self.plan_uri}")
            raise
        self._write_marker(intent.changed(upload_job_id=job_id, outcome="started"), intent)
        self.ledger.write(
            chunk_records(sub_plan, self.plan_uri, submitted, job_id), writer=f"register:{job_id}"
        )
        objects = len(sub_plan.objects)
        log.info("started upload job %s for %d entries (%d objects) of %s (attempt %d)", job_id,
                 len(sub_plan.entries), objects, self.plan_uri, attempt)  # fmt: skip
        return WaitOnJob(job_id, attempt)

    def _look_for_evidence(self, marker: JobMarker) -> RegisterStep:
        sub_plan = entries_subset(self.plan, marker.entries)
        found = find_entries(self.api.folder_index(self.folder_uuid), sub_plan)
        missing = [title for title in sub_plan.entries if title not in found]
        if not missing:
            log.info("%s: all %d entries are in the folder; the earlier job registered them", self.plan.name,
                     len(found))  # fmt: skip
            return SettledByEvidence(registered_records(sub_plan, self.plan_uri, found))
        if len(found) > marker.found:
            marker = self._note_progress(marker, len(found))
        quiet = marker.quiet_seconds(_now())
        if marker.outcome != "not_started" and quiet < self.settle_seconds:
            log.info("%s: %d of %d entries in the folder; the earlier job may still run (quiet %.0fs of %.0fs)",
                     self.plan.name, len(found), len(sub_plan.entries), quiet, self.settle_seconds)  # fmt: skip
            return AwaitEvidence(
                len(found), len(missing), min(self.poll_seconds, self.settle_seconds - quiet)
            )
        if marker.attempt >= self.max_attempts:
            raise PermanentIngestError(
                f"{self.plan.name}: {len(missing)} entries still not in the folder after {marker.attempt} "
                f"registration attempts (e.g. {missing[:3]}); see {self.plan_uri}"
            )
        self.ledger.write(
            registered_records(sub_plan, self.plan_uri, found), writer=f"evidence:{self.plan_uri}"
        )
        log.warning("%s: %d entries not in the folder, unchanged for %.0fs since attempt %d; sending them in a "
                    "new job", self.plan.name, len(missing), quiet, marker.attempt)  # fmt: skip
        try:
            return self._start(marker.attempt + 1, missing, replacing=marker)
        except PreconditionFailedError:  # another try of this chunk moved first: follow its marker
            current = self.read_marker()
            assert current is not None
            return (
                WaitOnJob(current.upload_job_id, current.attempt)
                if current.upload_job_id
                else self._look_for_evidence(current)
            )

    def _note_progress(self, marker: JobMarker, found: int) -> JobMarker:
        return note_progress(self.staging, self.key, marker, found)

    def finish(self, job_id: str, state: JobState) -> list[LedgerRecord]:
        """The ledger records of a finished job (only the entries of the attempt that started it)."""
        marker = self.read_marker()
        titles = marker.entries if marker and marker.upload_job_id == job_id else None
        sub_plan = entries_subset(self.plan, titles)
        outcome = apply_job_result(sub_plan, self.plan_uri, job_id, state, {}, self.max_attempts)
        for key, error in list(outcome.errors.items())[:20]:
            log.warning("Encord could not register %s: %s", key, error)
        return outcome.records


def note_progress(staging: ConditionalStore, key: str, marker: JobMarker, found: int) -> JobMarker:
    """Record that the folder now holds `found` of the marker's entries (restarts the quiet clock)."""
    updated = marker.changed(found=found, found_at=_now().isoformat())
    try:
        return write_marker(staging, key, updated, marker)
    except PreconditionFailedError:  # another try of this chunk wrote it meanwhile; its view is as good
        raw, version = staging.read_versioned(key)
        return JobMarker.loads(raw, version)

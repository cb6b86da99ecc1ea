"""Upload the entries of one chunk of a local source into Encord-hosted storage, each at most once.

A local source (`source.cloud: local`) is planned like a bucket: the same listing, ledger, grouping
(image groups and sequences, DICOM series) and chunk manifests. Its register step does not start an upload
job over URLs Encord cannot reach; each manifest entry goes through the SDK's `StorageFolder` upload call
for its type (`EncordApi.upload_files`).

Exactly once, across retries, reruns and crashes, per source entry (its files and their etags, hashed into
an upload id):

- a marker `<staging>/local-uploads/<pipeline>/<upload id>.json` records the intent (a fresh token, the
  attempt, the time) with a conditional create before any byte is sent, and the item once known;
- the token and upload id go into the item's client metadata (`encord_ingest.upload`), so the folder itself
  is the evidence of what an earlier try uploaded;
- before uploading, the folder is consulted: an item with the upload id and the marker's token was our own
  earlier upload (registered); one with another token was uploaded before the ledger knew (a duplicate);
- after an ambiguous failure (a 5xx, a dropped connection) the folder is asked again; an entry not there is
  sent again only once its intent is `unknown_job_settle_minutes` old (the earlier registration may still be
  running), with a new token and attempt. Encord refusing a file fails it (rejected after `max_attempts`);
  a retry of the same chunk reports the refusal again, the next run's chunk sends the file again.

Plain Python over the staging store, the ledger, the source directory and `EncordApi`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from encord_provider.encord_api import EncordApi
from encord_provider.encord_api.uploads import UPLOAD_KEY
from encord_provider.ingest.chunks import ChunkPlan, PlannedObject
from encord_provider.ingest.errors import AmbiguousWriteError, TransientIngestError, UploadRefusedError
from encord_provider.ingest.markers import Marker, read_marker, write_marker
from encord_provider.ingest.stores import key_of_uri
from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
from encord_provider.manifests.datatypes import JSON_KEYS, DataType
from encord_provider.storage.base import ConditionalStore
from encord_provider.storage.errors import PreconditionFailedError

log = logging.getLogger(__name__)
Outcome = Literal["uploading", "registered", "refused"]
_SECTIONS = {
    key: data_type for data_type, key in JSON_KEYS.items() if data_type is not DataType.IMAGE_SEQUENCE
}


class UploadsInFlight(TransientIngestError):
    """Some entries may still be registering from an earlier try; the task retries later."""


@dataclass(frozen=True)
class UploadEntry:
    """One manifest entry as the SDK uploads it: its type, title, files (object URLs, in order), metadata."""

    data_type: DataType
    title: str
    urls: list[str]
    client_metadata: dict[str, Any] = field(default_factory=dict)


def manifest_entries(manifest: dict[str, Any]) -> dict[str, UploadEntry]:
    """The entries of a chunk manifest by title (`image_groups` with `createVideo` are sequences)."""
    entries: dict[str, UploadEntry] = {}
    for section, data_type in _SECTIONS.items():
        for raw in manifest.get(section) or []:
            kind: DataType = data_type
            if section == JSON_KEYS[DataType.IMAGE_GROUP] and raw.get("createVideo"):
                kind = DataType.IMAGE_SEQUENCE
            numbered = sorted(
                (int(k.split("_", 1)[1]), v) for k, v in raw.items() if k.startswith("objectUrl_")
            )
            urls = [raw["objectUrl"]] if "objectUrl" in raw else [url for _, url in numbered]
            entries[raw["title"]] = UploadEntry(
                kind, raw["title"], urls, dict(raw.get("clientMetadata") or {})
            )
    return entries


def upload_id(objects: list[PlannedObject]) -> str:
    """The identity of one version of a source entry: its files' URLs and etags."""
    text = "\n".join(f"{o.url} {o.etag}" for o in sorted(objects, key=lambda o: o.url))
    return hashlib.sha256(text.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class UploadMarker(Marker):
    """The intent (and, once known, the item) of the latest upload attempt of one source entry."""

    upload_id: str
    title: str
    token: str
    intent_at: str
    chunk: str  # the chunk plan that made the attempt (a retry of that chunk does not resend a refused file)
    attempt: int = 1
    outcome: Outcome = "uploading"
    item_uuid: str | None = None
    error: str | None = None

    def age_seconds(self, now: datetime) -> float:
        return (now - datetime.fromisoformat(self.intent_at)).total_seconds()


class LocalChunkUpload:
    """Uploads the entries of one chunk plan of a local source; `run()` returns their ledger records."""

    def __init__(
        self, *, staging: ConditionalStore, ledger: Ledger, api: EncordApi, source: Any, plan_uri: str,
        plan: ChunkPlan, folder_uuid: str, markers_prefix: str, settle_seconds: float, max_attempts: int = 3,
    ) -> None:  # fmt: skip
        """`source`: the source directory's store (`storage.local.LocalStore`: keys to file paths)."""
        self.staging = staging
        self.ledger = ledger
        self.api = api
        self.source = source
        self.plan_uri = plan_uri
        self.plan = plan
        self.folder_uuid = folder_uuid
        self.markers_prefix = markers_prefix.rstrip("/")
        self.settle_seconds = settle_seconds
        self.max_attempts = max_attempts
        self._evidence: dict[str, tuple[str, str]] | None = None

    def run(self) -> list[LedgerRecord]:
        """Upload what is not in the folder yet. Each entry's records are written as soon as it is settled;
        UploadsInFlight (transient) when some entry must wait for an earlier try to show up."""
        entries = manifest_entries(
            json.loads(self.staging.read_bytes(key_of_uri(self.staging, self.plan.manifest_uri)))
        )
        done: list[LedgerRecord] = []
        waiting: list[str] = []
        for title, objects in self.plan.entries.items():
            records = self._settle(entries[title], objects)
            if records is None:
                waiting.append(title)
                continue
            self.ledger.write(records, writer=f"local-upload:{self.plan_uri}")
            done += records
        if waiting:
            raise UploadsInFlight(
                f"{self.plan.name}: {len(waiting)} entries may still be registering from an earlier try "
                f"(e.g. {waiting[:3]}); they are sent again once {self.settle_seconds:.0f}s passed without them"
            )
        return done

    # -- one entry ------------------------------------------------------------------------------

    def _settle(self, entry: UploadEntry, objects: list[PlannedObject]) -> list[LedgerRecord] | None:
        """The entry's records (registered, duplicate, failed or rejected), or None: wait for evidence."""
        uid = upload_id(objects)
        marker = self._read_marker(uid)
        found = self.evidence().get(uid)
        if found is not None:
            item_uuid, token = found
            ours = marker is not None and marker.token == token
            if ours and marker is not None and marker.outcome != "registered":
                self._write_marker(marker.changed(outcome="registered", item_uuid=item_uuid), marker)
            state = ObjectState.REGISTERED if ours else ObjectState.DUPLICATE
            return self._records(entry, objects, state, item_uuid=item_uuid)
        if marker is not None and marker.outcome == "refused" and marker.chunk == self.plan_uri:
            return self._records(entry, objects, ObjectState.FAILED, error=marker.error, failed=True)
        if marker is not None and marker.outcome == "uploading":
            if marker.age_seconds(_now()) < self.settle_seconds:
                return None
            if marker.attempt >= self.max_attempts:
                error = f"not in the folder after {marker.attempt} upload attempts (each lost to a 5xx or a crash)"
                return self._records(entry, objects, ObjectState.REJECTED, error=error, failed=True)
        attempt = marker.attempt + 1 if marker is not None else 1
        return self._upload(entry, objects, uid, attempt, marker)

    def _upload(self, entry: UploadEntry, objects: list[PlannedObject], uid: str, attempt: int,
                replacing: UploadMarker | None) -> list[LedgerRecord] | None:  # fmt: skip
        intent = UploadMarker(uid, entry.title, uuid.uuid4().hex, _now().isoformat(), self.plan_uri, attempt)
        try:
            intent = self._write_marker(intent, replacing)  # before any byte leaves
        except PreconditionFailedError:
            return None  # another try of this entry wrote its intent first: wait for its evidence
        self.ledger.write(
            self._records(entry, objects, ObjectState.SUBMITTED), writer=f"intent:{self.plan_uri}"
        )
        try:
            item_uuid = self.api.upload_files(
                self.folder_uuid, entry.data_type, self._paths(entry, objects), entry.title, self._metadata(entry, intent)
            )  # fmt: skip
        except AmbiguousWriteError as err:
            log.warning("%s: %s; looking for its item", entry.title, err)
            found = self.evidence(refresh=True).get(uid)
            if found is None or found[1] != intent.token:
                return None
            item_uuid = found[0]
        except (UploadRefusedError, OSError) as err:
            self._write_marker(intent.changed(outcome="refused", error=str(err)), intent)
            return self._records(entry, objects, ObjectState.FAILED, error=str(err), failed=True)
        self._write_marker(intent.changed(outcome="registered", item_uuid=item_uuid), intent)
        log.info(
            "uploaded %s %r (%d files) as item %s", entry.data_type, entry.title, len(objects), item_uuid
        )
        return self._records(entry, objects, ObjectState.REGISTERED, item_uuid=item_uuid)

    def _paths(self, entry: UploadEntry, objects: list[PlannedObject]) -> list[Path]:
        """The entry's files in manifest order (frames and slices keep their order)."""
        key_of = {o.url: o.key for o in objects}
        return [Path(self.source.local_path(key_of[url])) for url in entry.urls]

    @staticmethod
    def _metadata(entry: UploadEntry, intent: UploadMarker) -> dict[str, Any]:
        ingest = dict(entry.client_metadata.get("encord_ingest") or {})
        ingest[UPLOAD_KEY] = {"id": intent.upload_id, "token": intent.token}
        return {**entry.client_metadata, "encord_ingest": ingest}

    def _records(self, entry: UploadEntry, objects: list[PlannedObject], state: ObjectState, *,
                 item_uuid: str | None = None, error: str | None = None, failed: bool = False) -> list[LedgerRecord]:  # fmt: skip
        """One record per file of the entry; `failed` counts an attempt (rejected once `max_attempts` reached)."""
        records = []
        for o in objects:
            attempts = o.attempts + 1 if failed else o.attempts
            final = ObjectState.REJECTED if failed and attempts >= self.max_attempts else state
            records.append(LedgerRecord(key=o.key, etag=o.etag, state=final, item_uuid=item_uuid, error=error,
                                        chunk=self.plan_uri, entry=entry.title, attempts=attempts))  # fmt: skip
        return records

    # -- evidence and markers -------------------------------------------------------------------

    def evidence(self, refresh: bool = False) -> dict[str, tuple[str, str]]:
        """Upload id -> (item uuid, token) of the folder's uploaded items (listed once per chunk)."""
        if self._evidence is None or refresh:
            self._evidence = self.api.upload_evidence(self.folder_uuid)
        return self._evidence

    def _marker_key(self, uid: str) -> str:
        return f"{self.markers_prefix}/{uid}.json"

    def _read_marker(self, uid: str) -> UploadMarker | None:
        return read_marker(self.staging, self._marker_key(uid), UploadMarker)

    def _write_marker(self, marker: UploadMarker, replacing: UploadMarker | None) -> UploadMarker:
        return write_marker(self.staging, self._marker_key(marker.upload_id), marker, replacing)

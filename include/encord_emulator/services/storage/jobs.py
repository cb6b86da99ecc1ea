"""Upload jobs: register manifest units into a folder in a background thread, with long-polling.

Each unit's objects are read from the integration's bucket (existence, size, media probe), then the
storage item is written. Jobs persist in the store; a PENDING job is resumed after a restart
(units whose item already exists are not registered twice).

Setting ``upload_job_processing_seconds`` (seed ``settings``) makes every job stay PENDING, with no item
written, for that long after it was created, like a queued job on the real service.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from encord_emulator.clouds import backend_for
from encord_emulator.clouds.reader import CloudReader
from encord_emulator.clouds.urls import UrlError, parse_object_url
from encord_emulator.core.common import new_uuid, now_iso
from encord_emulator.core.errors import not_found
from encord_emulator.core.registry import AppState
from encord_emulator.core.store import Store
from encord_emulator.services.storage import hosted, media, models
from encord_emulator.services.storage.models import ITEM_KIND

log = logging.getLogger(__name__)

JOB_KIND = "upload_job"
INSERT_BATCH = 200
PROBE_THREADS = 8

_METADATA_FIELDS = {
    "fps": "fps", "duration": "duration", "width": "width", "height": "height",
    "file_size": "file_size", "fileSize": "file_size", "mime_type": "mime_type", "mimeType": "mime_type",
    "sample_rate": "audio_sample_rate", "sampleRate": "audio_sample_rate", "bit_depth": "audio_bit_depth",
    "bitDepth": "audio_bit_depth", "codec": "audio_codec", "num_channels": "audio_num_channels",
    "numChannels": "audio_num_channels", "num_pages": "num_pages", "numPages": "num_pages",
}  # fmt: skip


class UnitFailure(Exception):
    """One unit could not be registered; becomes a ``DataUnitError``."""

    def __init__(self, message: str, urls: list[str]) -> None:
        super().__init__(message)
        self.urls = urls


def dedup_key(urls: list[str]) -> str:
    return hashlib.sha1("\n".join(urls).encode("utf-8")).hexdigest()


class JobRunner:
    """Starts, runs, cancels and long-polls upload jobs for one emulator."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.reader = CloudReader()
        self._lock = threading.Lock()
        self._finished: dict[str, threading.Event] = {}
        self._progress: dict[str, dict[str, int]] = {}
        self._cancel: set[str] = set()

    def start(self, folder_uuid: str, integration: dict[str, Any] | None, units: list[dict[str, Any]],
              flags: dict[str, bool], ignore_errors: bool, file_name: str | None, owner: str) -> str:  # fmt: skip
        job_uuid = new_uuid()
        job = {
            "uuid": job_uuid, "folder": folder_uuid, "integration": integration["uuid"] if integration else None,
            "units": units, "flags": flags, "ignore_errors": ignore_errors, "file_name": file_name,
            "owner": owner, "status": "PENDING", "created_at": now_iso(),
        }  # fmt: skip
        self.state.store.put(JOB_KIND, job_uuid, job)
        self.launch(job_uuid)
        return job_uuid

    def launch(self, job_uuid: str) -> None:
        with self._lock:
            self._finished.setdefault(job_uuid, threading.Event())
        self.state.run_background(self._run_safely, job_uuid)

    def cancel(self, folder_uuid: str, job_uuid: str) -> int:
        job = self._job(folder_uuid, job_uuid)
        if job["status"] != "PENDING":
            return int(job.get("result", {}).get("unitsCancelledCount", 0))
        with self._lock:
            self._cancel.add(job_uuid)
        self.wait(folder_uuid, job_uuid, 30.0)
        return int(self._job(folder_uuid, job_uuid).get("result", {}).get("unitsCancelledCount", 0))

    def wait(self, folder_uuid: str, job_uuid: str, timeout: float) -> dict[str, Any]:
        """The job's ``UploadLongPollingState`` once finished or after ``timeout`` seconds."""
        job = self._job(folder_uuid, job_uuid)
        if job["status"] == "PENDING" and timeout > 0:
            with self._lock:
                event = self._finished.setdefault(job_uuid, threading.Event())
            event.wait(timeout)
            job = self._job(folder_uuid, job_uuid)
        if job["status"] != "PENDING":
            return dict(job["result"])
        with self._lock:
            progress = dict(self._progress.get(job_uuid, {}))
        done, errors = progress.get("done", 0), progress.get("errors", 0)
        return _state(
            "PENDING", [], [], len(job["units"]) - done - errors, done, errors, 0, [], job.get("file_name")
        )

    def _job(self, folder_uuid: str, job_uuid: str) -> dict[str, Any]:
        job = self.state.store.get(JOB_KIND, job_uuid)
        if job is None or job["folder"] != folder_uuid:
            raise not_found(f"upload job {job_uuid} in folder {folder_uuid}")
        return job

    def _run_safely(self, job_uuid: str) -> None:
        try:
            self._run(job_uuid)
        except Exception as exc:  # a crash must still finish the job, or pollers wait forever
            log.exception("upload job %s crashed", job_uuid)
            job = self.state.store.get(JOB_KIND, job_uuid)
            if job is not None and job["status"] == "PENDING":
                job["status"] = "ERROR"
                job["result"] = _state("ERROR", [], [f"internal emulator error: {exc}"], 0, 0, len(job["units"]), 0,
                                       [], job.get("file_name"))  # fmt: skip
                self.state.store.put(JOB_KIND, job_uuid, job)
        finally:
            with self._lock:
                event = self._finished.setdefault(job_uuid, threading.Event())
                self._cancel.discard(job_uuid)
                self._progress.pop(job_uuid, None)
            event.set()

    def _run(self, job_uuid: str) -> None:
        store = self.state.store
        job = store.get(JOB_KIND, job_uuid)
        if job is None or job["status"] != "PENDING":
            return
        if not self._wait_processing_time(job):
            return  # stopping: the job stays PENDING and resumes after a restart
        integration = store.get("integration", job["integration"]) if job["integration"] else None
        resumed = {
            item["unit_index"]: item
            for item in store.query(ITEM_KIND, parent=job["folder"], job_uuid=job_uuid)
        }
        outcome = _Outcome(job)
        to_probe: list[dict[str, Any]] = []
        seen_in_job: set[str] = set()
        for unit in job["units"]:
            urls = [child["url"] for child in unit["urls"]]
            if unit["index"] in resumed:
                outcome.registered(resumed[unit["index"]])
            elif unit.get("error"):
                outcome.failed(unit, unit["error"], urls)
            elif job["flags"].get("skip_duplicate_urls") and (
                dedup_key(urls) in seen_in_job or _registered(store, job["folder"], dedup_key(urls))
            ):
                outcome.skipped(unit, _registered(store, job["folder"], dedup_key(urls)), store)
            else:
                seen_in_job.add(dedup_key(urls))
                to_probe.append(unit)
        self._probe_and_insert(job, integration, to_probe, outcome)
        job["status"], job["result"] = outcome.final()
        job["finished_at"] = now_iso()
        store.put(JOB_KIND, job_uuid, job)

    def _wait_processing_time(self, job: dict[str, Any]) -> bool:
        """Hold the job back until ``upload_job_processing_seconds`` after its creation (restart-safe);
        False when the emulator is stopping meanwhile."""
        seconds = float(self.state.setting("upload_job_processing_seconds", 0) or 0)
        created = datetime.fromisoformat(str(job["created_at"]))
        remaining = seconds - (datetime.now(UTC) - created).total_seconds()
        return remaining <= 0 or not self.state.stopping.wait(remaining)

    def _probe_and_insert(self, job: dict[str, Any], integration: dict[str, Any] | None,
                          units: list[dict[str, Any]], outcome: _Outcome) -> None:  # fmt: skip
        pending: dict[str, dict[str, Any]] = {}
        with ThreadPoolExecutor(max_workers=PROBE_THREADS) as pool:
            results = pool.map(lambda unit: self._build_item(job, integration, unit), units)
            for unit, (item, failure) in zip(units, results, strict=True):
                if self._cancelled(job["uuid"]) or self.state.stopping.is_set():
                    outcome.cancelled(unit)
                elif failure is not None:
                    outcome.failed(unit, str(failure), failure.urls)
                else:
                    assert item is not None
                    pending[item["uuid"]] = item
                    outcome.registered(item)
                    if len(pending) >= INSERT_BATCH:
                        models.insert_items(self.state.store, job["folder"], pending)
                        pending = {}
                with self._lock:
                    self._progress[job["uuid"]] = {"done": outcome.done, "errors": outcome.error_count}
        if pending:
            models.insert_items(self.state.store, job["folder"], pending)
        if self.state.stopping.is_set():
            raise RuntimeError("emulator stopping")

    def _cancelled(self, job_uuid: str) -> bool:
        with self._lock:
            return job_uuid in self._cancel

    def _build_item(self, job: dict[str, Any], integration: dict[str, Any] | None,
                    unit: dict[str, Any]) -> tuple[dict[str, Any] | None, UnitFailure | None]:  # fmt: skip
        if self._cancelled(job["uuid"]) or self.state.stopping.is_set():
            return None, None
        try:
            if is_hosted(unit):
                return build_hosted_item(self.state, job, unit), None
            if integration is None:
                raise UnitFailure("the job names no cloud integration", [c["url"] for c in unit["urls"]])
            return build_item(self.reader, job, integration, unit), None
        except UnitFailure as failure:
            return None, failure
        except Exception as exc:  # cloud/SDK errors are per unit, never the whole job
            log.warning("unit %s of job %s failed: %s", unit["source"], job["uuid"], exc)
            return None, UnitFailure(f"could not read the object: {type(exc).__name__}: {exc}",
                                     [c["url"] for c in unit["urls"]])  # fmt: skip


def _registered(store: Store, folder_uuid: str, key: str) -> dict[str, Any] | None:
    """The item of the folder already registered from the same URLs (the latest one), if any."""
    found = store.query(ITEM_KIND, parent=folder_uuid, dedup_key=key)
    return found[-1] if found else None


def job_runner(state: AppState) -> JobRunner:
    """The emulator's one upload-job runner."""
    runner = state.services.get("jobs")
    if runner is None:
        runner = state.services["jobs"] = JobRunner(state)
    assert isinstance(runner, JobRunner)
    return runner


class _Outcome:
    """Accumulates the per-unit results of one job into an ``UploadLongPollingState``."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.items: list[dict[str, str]] = []
        self.skipped_items: list[dict[str, str]] = []
        self.unit_errors: list[dict[str, Any]] = []
        self.done = 0
        self.error_count = 0
        self.cancelled_count = 0

    def registered(self, item: dict[str, Any]) -> None:
        self.items.append({"itemUuid": item["uuid"], "name": item["name"]})
        self.done += 1

    def skipped(self, unit: dict[str, Any], existing: dict[str, Any] | None, store: Any) -> None:
        self.done += 1
        if existing is None:  # duplicate inside this very job
            return
        self.skipped_items.append({"itemUuid": existing["uuid"], "name": existing["name"]})
        if self.job["flags"].get("upsert_metadata"):
            models.replace_client_metadata(store, existing, unit["client_metadata"])

    def failed(self, unit: dict[str, Any], message: str, urls: list[str]) -> None:
        self.error_count += 1
        self.unit_errors.append({
            "objectUrls": urls, "error": f"{unit['source']}: {message}", "subtaskUuid": new_uuid(),
            "actionDescription": f"Registering {unit['item_type']} {unit.get('title') or unit['source']}",
        })  # fmt: skip

    def cancelled(self, unit: dict[str, Any]) -> None:
        self.cancelled_count += 1

    def final(self) -> tuple[str, dict[str, Any]]:
        if self.cancelled_count:
            status = "CANCELLED"
        elif self.error_count and not self.job["ignore_errors"]:
            status = "ERROR"
        else:
            status = "DONE"
        errors = [error["error"] for error in self.unit_errors]
        result = _state(status, self.items, errors, 0, self.done, self.error_count, self.cancelled_count,
                        self.unit_errors, self.job.get("file_name"))  # fmt: skip
        result["itemsSkippedAsDuplicates"] = self.skipped_items
        return status, result


def _state(status: str, items: list[dict[str, str]], errors: list[str], pending: int, done: int, error_count: int,
           cancelled: int, unit_errors: list[dict[str, Any]], file_name: str | None) -> dict[str, Any]:  # fmt: skip
    return {
        "status": status, "itemsWithNames": items, "errors": errors, "unitsPendingCount": pending,
        "unitsDoneCount": done, "unitsErrorCount": error_count, "unitsCancelledCount": cancelled,
        "unitErrors": unit_errors, "fileName": file_name,
    }  # fmt: skip


def build_item(
    reader: CloudReader, job: dict[str, Any], integration: dict[str, Any], unit: dict[str, Any]
) -> dict[str, Any]:
    """Read every object of ``unit`` from the bucket and return the storage item document."""
    item_type = unit["item_type"]
    trusted = _trusted_metadata(unit.get("metadata"))
    children = [_probe_child(reader, integration, item_type, child, trusted) for child in unit["urls"]]
    location = backend_for(integration["provider"]).storage_location
    return _item_doc(job, unit, children, new_uuid(), integration["uuid"], location)


def is_hosted(unit: dict[str, Any]) -> bool:
    """Whether the unit names Encord-hosted uploads (the SDK's ``upload_*`` calls) by placeholder uuid."""
    return bool(unit["urls"]) and all(child.get("placeholder") for child in unit["urls"])


def build_hosted_item(state: AppState, job: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
    """The item of a unit whose bytes were PUT to Encord-hosted signed URLs (probed like cloud objects).
    A single file's item takes its placeholder uuid, as the SDK expects; groups and series get a new one."""
    trusted = _trusted_metadata(unit.get("metadata"))
    children = [_hosted_child(state, job, unit["item_type"], child, trusted) for child in unit["urls"]]
    single = len(children) == 1 and unit["item_type"] not in _GROUP_TYPES
    item_uuid = str(unit["urls"][0]["placeholder"]) if single else new_uuid()
    item = _item_doc(job, unit, children, item_uuid, None, hosted.STORAGE_LOCATION)
    item["url"] = None
    item["hosted_keys"] = [child["key"] for child in children]
    item["hosted_base_url"] = state.services.get("hosted_base_url")
    hosted.mark_registered(state, [str(child["placeholder"]) for child in unit["urls"]], item_uuid)
    return item


def _hosted_child(state: AppState, job: dict[str, Any], item_type: str, child: dict[str, Any],
                  trusted: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    try:
        stored = hosted.uploaded_child(state, job["folder"], str(child["placeholder"]))
    except hosted.HostedUploadError as exc:
        raise UnitFailure(str(exc), [child["url"]]) from None
    key, size = stored["key"], int(stored["size"])
    fields: dict[str, Any] = {"url": key, "title": child.get("title"), "bucket": "", "key": key,
                              "file_size": size, "mime_type": stored["content_type"]}  # fmt: skip
    child_trusted = {**trusted, **_trusted_metadata(child.get("metadata"))}
    if child_trusted:
        return {**fields, **child_trusted}
    try:
        fields.update(_probe(lambda length: hosted.read_object(state, key, length), item_type, size))
    except media.MediaError as exc:
        raise UnitFailure(f"{exc} ({child.get('title') or key})", [child["url"]]) from None
    return fields


def _item_doc(job: dict[str, Any], unit: dict[str, Any], children: list[dict[str, Any]], item_uuid: str,
              integration_hash: str | None, storage_location: str) -> dict[str, Any]:  # fmt: skip
    """The storage item document of a unit whose objects were read (``children``: their probed fields)."""
    item_type = unit["item_type"]
    first = children[0]
    now = now_iso()
    item: dict[str, Any] = {
        "uuid": item_uuid, "parent": job["folder"], "item_type": item_type, "name": unit["title"],
        "description": "", "url": first["url"] if len(children) == 1 and item_type not in _GROUP_TYPES else None,
        "urls": [child["url"] for child in children], "dedup_key": dedup_key([c["url"] for c in children]),
        "client_metadata": unit["client_metadata"], "owner": job["owner"], "created_at": now, "last_edited_at": now,
        "integration_hash": integration_hash, "storage_location": storage_location,
        "file_size": sum(int(child.get("file_size") or 0) for child in children),
        "mime_type": first.get("mime_type"), "width": first.get("width"), "height": first.get("height"),
        "fps": first.get("fps"), "duration": first.get("duration"), "frame_count": None,
        "num_pages": first.get("num_pages"), "job_uuid": job["uuid"], "unit_index": unit["index"],
        "backed_data_units_count": 1,
    }  # fmt: skip
    for field in ("audio_sample_rate", "audio_bit_depth", "audio_codec", "audio_num_channels",
                  "dicom_study_uid", "dicom_series_uid"):  # fmt: skip
        item[field] = first.get(field)
    item["dicom_instance_uid"] = first.get("dicom_instance_uid") if item_type != "dicomSeries" else None
    if item_type in _GROUP_TYPES:
        item["children"] = children
        item["frame_count"] = len(children)
        item["mime_type"] = "video/mp4" if item_type == "imageSequence" else first.get("mime_type")
    if item_type == "video" and item["fps"] and item["duration"]:
        item["frame_count"] = int(round(float(item["fps"]) * float(item["duration"])))
    return item


_GROUP_TYPES = ("imageGroup", "imageSequence", "dicomSeries")


def _trusted_metadata(block: Any) -> dict[str, Any]:
    if not isinstance(block, dict):
        return {}
    return {_METADATA_FIELDS[key]: value for key, value in block.items() if key in _METADATA_FIELDS}


def _probe_child(reader: CloudReader, integration: dict[str, Any], item_type: str, child: dict[str, Any],
                 trusted: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    url = child["url"]
    try:
        loc = parse_object_url(url, integration)
    except UrlError as exc:
        raise UnitFailure(f"{exc} ({url})", [url]) from None
    info = reader.head(integration, loc)
    if info is None:
        raise UnitFailure(
            f"object not found in {integration['provider']} bucket {loc.bucket!r}: {loc.key}", [url]
        )
    fields: dict[str, Any] = {"url": url, "title": child.get("title"), "bucket": loc.bucket, "key": loc.key,
                              "file_size": info.size, "mime_type": info.content_type}  # fmt: skip
    child_trusted = {**trusted, **_trusted_metadata(child.get("metadata"))}
    if child_trusted:
        fields.update(child_trusted)
        return fields
    try:
        fields.update(_probe(lambda length: reader.read(integration, loc, length), item_type, info.size))
    except media.MediaError as exc:
        raise UnitFailure(f"{exc} ({url})", [url]) from None
    return fields


def _probe(read: Callable[[int | None], bytes], item_type: str, size: int) -> dict[str, Any]:
    """Media fields of one object; ``read(n)`` returns its first ``n`` bytes (all of it for None)."""

    def read_all() -> bytes:
        if size > media.MAX_FULL_READ:
            raise media.MediaError(
                f"object is larger than {media.MAX_FULL_READ} bytes; give a metadata block"
            )
        return read(None)

    if item_type == "dicomSeries":
        return media.probe_dicom(read_all)
    head = read(min(media.HEAD_BYTES, size)) if size else b""
    if item_type in ("image", "imageGroup", "imageSequence"):
        return media.probe_image(head, read_all)
    if item_type == "video":
        return media.probe_video(head)
    if item_type == "audio":
        return media.probe_audio(head)
    if item_type == "pdf":
        return media.probe_pdf(head, size, read_all)
    if item_type == "plainText":
        return media.probe_text(head)
    if item_type == "nifti":
        return media.probe_nifti(head)
    raise media.MediaError(f"unsupported item type {item_type}")

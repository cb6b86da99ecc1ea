"""Deferrable wait on one Encord upload job (folder registration), polled through the SDK in a thread.

The event is small on purpose (status and counts): the operator re-reads the full result, which can list
thousands of items, in `execute_complete` on the worker instead of passing it through the trigger table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

FINISHED_STATUSES = ("DONE", "ERROR", "CANCELLED")


def _is_transient(err: Exception) -> bool:
    """Rate limits, 5xx and dropped connections are retried; anything else ends the wait."""
    from encord.exceptions import RateLimitExceededError, RequestException, UnknownException

    return isinstance(err, RateLimitExceededError | RequestException | UnknownException | ConnectionError)


def poll_upload_job_once(encord_conn_id: str, folder_uuid: str, upload_job_id: str) -> Any:
    """One non-blocking poll (timeout_seconds=0): returns the SDK's UploadLongPollingState."""
    from uuid import UUID

    from encord_provider.hooks.encord import EncordHook

    client = EncordHook(encord_conn_id=encord_conn_id).client
    folder = client.get_storage_folder(UUID(folder_uuid))
    return folder.add_private_data_to_folder_get_result(UUID(upload_job_id), timeout_seconds=0)


class UploadJobTrigger(BaseTrigger):
    """Fires once when the upload job finishes (DONE / ERROR / CANCELLED), times out, or keeps failing."""

    def __init__(
        self,
        encord_conn_id: str,
        folder_uuid: str,
        upload_job_id: str,
        poll_interval: float = 2.0,
        timeout_seconds: float = 3 * 3600,
        max_consecutive_errors: int = 8,
    ) -> None:
        super().__init__()
        self.encord_conn_id = encord_conn_id
        self.folder_uuid = folder_uuid
        self.upload_job_id = upload_job_id
        self.poll_interval = poll_interval
        self.timeout_seconds = timeout_seconds
        self.max_consecutive_errors = max_consecutive_errors

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "encord_conn_id": self.encord_conn_id,
                "folder_uuid": self.folder_uuid,
                "upload_job_id": self.upload_job_id,
                "poll_interval": self.poll_interval,
                "timeout_seconds": self.timeout_seconds,
                "max_consecutive_errors": self.max_consecutive_errors,
            },
        )

    def _event(self, status: str, **extra: Any) -> TriggerEvent:
        return TriggerEvent({"status": status, "upload_job_id": self.upload_job_id, **extra})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = time.monotonic() + self.timeout_seconds
        errors = 0
        while True:
            try:
                state = await asyncio.to_thread(
                    poll_upload_job_once, self.encord_conn_id, self.folder_uuid, self.upload_job_id
                )
            except Exception as err:
                errors += 1
                if not _is_transient(err) or errors >= self.max_consecutive_errors:
                    yield self._event("error", error=f"{type(err).__name__}: {err}", attempts=errors)
                    return
                self.log.warning(
                    "upload job %s: poll failed (%s), retrying", self.upload_job_id, type(err).__name__
                )
                await asyncio.sleep(min(self.poll_interval * 2**errors, 60.0))
                continue
            errors = 0
            status = str(getattr(state.status, "value", state.status))
            if status in FINISHED_STATUSES:
                yield self._event(
                    status,
                    units_done=state.units_done_count,
                    units_error=state.units_error_count,
                    units_cancelled=state.units_cancelled_count,
                )
                return
            if time.monotonic() >= deadline:
                yield self._event("timeout", units_pending=state.units_pending_count)
                return
            await asyncio.sleep(self.poll_interval)

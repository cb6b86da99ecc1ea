"""Deferrable wait on one Encord upload job (folder registration), polled through `EncordApi` in a thread.

- The first poll waits `first_poll_delay` (>= 2.5 s): Airflow 3.3 can kill a task whose trigger fires
  within ~2 s of deferring (apache/airflow#71580). The register operator waits on short jobs in the
  worker first (`registration.sync_wait_seconds`), so a job that is nearly done never defers at all.
- While it waits, the trigger renews the run's pipeline lease, so a long job does not let it expire.
- The polling itself (backoff after a failed poll, give up after `max_consecutive_errors`, the timeout)
  is `encord_api.UploadJobWatch`; this trigger only drives it from asyncio and renews the lease.
- The event is small on purpose (status and counts): the operator re-reads the full result, which can list
  thousands of items, in `execute_complete` on the worker instead of passing it through the trigger table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from encord_provider.encord_api import EncordApi, JobState, UploadJobWatch
from encord_provider.hooks.encord import EncordHook
from encord_provider.ingest.errors import LeaseLostError

MIN_FIRST_POLL_DELAY = 2.5


def renew_lease(lease: dict[str, Any]) -> None:
    """Renew a run's lease from the trigger (`lease` as built by `operators.ingest.lease_for_trigger`)."""
    from encord_provider.ingest.lease import PipelineLease
    from encord_provider.storage.base import ConditionalStore
    from encord_provider.storage.factory import bucket_uri, open_store

    uri = bucket_uri(lease["scheme"], lease["bucket"])
    store: Any = open_store(uri, conn_id=lease.get("conn_id"), endpoint_url=lease.get("endpoint_url"))
    conditional: ConditionalStore = store
    PipelineLease(conditional, lease["key"], float(lease["ttl_seconds"])).renew(lease["token"])


class UploadJobTrigger(BaseTrigger):
    """Fires once when the upload job finishes (DONE / ERROR / CANCELLED), times out, or keeps failing."""

    def __init__(
        self,
        encord_conn_id: str,
        folder_uuid: str,
        upload_job_id: str,
        poll_interval: float = 2.0,
        timeout_seconds: float = 3 * 3600,
        max_consecutive_errors: int = 3,
        first_poll_delay: float = 3.0,
        lease: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.encord_conn_id = encord_conn_id
        self.folder_uuid = folder_uuid
        self.upload_job_id = upload_job_id
        self.poll_interval = poll_interval
        self.timeout_seconds = timeout_seconds
        self.max_consecutive_errors = max_consecutive_errors
        self.first_poll_delay = max(first_poll_delay, MIN_FIRST_POLL_DELAY)
        self.lease = lease
        self._api: EncordApi | None = None

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
                "first_poll_delay": self.first_poll_delay,
                "lease": self.lease,
            },
        )

    def _event(self, status: str, **extra: Any) -> TriggerEvent:
        return TriggerEvent({"status": status, "upload_job_id": self.upload_job_id, **extra})

    def poll(self) -> JobState:
        """One non-blocking poll (runs in a thread; the connection is read once per trigger)."""
        if self._api is None:
            self._api = EncordHook(self.encord_conn_id).api
        return self._api.upload_job(self.folder_uuid, self.upload_job_id)

    def watch(self) -> UploadJobWatch:
        return UploadJobWatch(
            self.poll,
            interval=self.poll_interval,
            timeout=self.timeout_seconds,
            max_consecutive_errors=self.max_consecutive_errors,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch = self.watch()
        renew_every = max(30.0, float((self.lease or {}).get("ttl_seconds", 0)) / 4)
        renewed = time.monotonic()
        await asyncio.sleep(self.first_poll_delay)  # never fire within ~2 s of deferring (#71580)
        while True:
            if self.lease and time.monotonic() - renewed >= renew_every:
                try:
                    await asyncio.to_thread(renew_lease, self.lease)
                    renewed = time.monotonic()
                except LeaseLostError as err:
                    yield self._event("lease_lost", error=str(err))
                    return
                except Exception as err:  # a staging hiccup; the lease has ttl to spare
                    self.log.warning("renewing the pipeline lease failed: %s", err)
            outcome = await asyncio.to_thread(watch.step)
            if outcome.stop:
                yield self._event(outcome.status, **outcome.event())
                return
            if outcome.error is not None:
                self.log.warning(
                    "upload job %s: poll failed (%s), retrying", self.upload_job_id, outcome.error
                )
            await asyncio.sleep(outcome.wait)

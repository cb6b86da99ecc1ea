"""One ingest run per pipeline at a time: a lease object in the staging bucket, taken with conditional writes.

`<staging>/ledger/<name>/lease.json` holds `{holder, token, acquired_at, renewed_at, expires_at, released}`.

- **acquire**: create it if absent (S3 `If-None-Match: *`, GCS generation 0, Azure `If-None-Match: *`,
  local: an exclusive lock); or replace it, only if unchanged since read (S3/Azure `If-Match`, GCS
  generation match), when it was released or has expired. Of two runs racing, exactly one wins; the
  other waits and tries again until `wait_minutes`, then fails with `LeaseHeldError` (Airflow retries).
- **renew**: every task of the holding run, and the upload-job trigger while it waits, push
  `expires_at` forward (`ttl_minutes`). A run whose lease was taken over after it expired gets
  `LeaseLostError` and stops writing.
- **release**: the run's last task (a teardown, so it also runs when the run failed) marks it released.

Expiry uses the writers' wall clocks; `ttl_minutes` (60 by default) dwarfs any plausible clock skew.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from encord_provider.ingest.errors import LeaseHeldError, LeaseLostError
from encord_provider.storage.base import ConditionalStore
from encord_provider.storage.errors import ObjectNotFoundError, PreconditionFailedError

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LeaseRecord:
    holder: str  # e.g. "encord_ingest__demo manual__2026-… on host-1"
    token: str  # unique per acquisition; what a run carries from task to task
    acquired_at: str
    renewed_at: str
    expires_at: str
    released: bool = False

    def dumps(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def loads(cls, raw: bytes) -> LeaseRecord:
        return cls(**json.loads(raw))

    def free_at(self, now: datetime) -> bool:
        return self.released or datetime.fromisoformat(self.expires_at) <= now


class PipelineLease:
    """The lease of one pipeline in its staging store."""

    def __init__(
        self,
        store: ConditionalStore,
        key: str,
        ttl_seconds: float,
        clock: Callable[[], datetime] = _now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.key = key
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock
        self.sleep = sleep

    @property
    def uri(self) -> str:
        return self.store.uri(self.key)

    def read(self) -> tuple[LeaseRecord, str] | None:
        try:
            raw, version = self.store.read_versioned(self.key)
        except ObjectNotFoundError:
            return None
        return LeaseRecord.loads(raw), version

    def _record(self, holder: str, token: str, acquired_at: str | None = None) -> LeaseRecord:
        now = self.clock()
        stamp = now.isoformat()
        return LeaseRecord(holder, token, acquired_at or stamp, stamp, (now + self.ttl).isoformat())

    def try_acquire(self, holder: str) -> LeaseRecord | None:
        """The new lease if this call took it; None while another run holds it."""
        current = self.read()
        if current is not None and not current[0].free_at(self.clock()):
            return None
        mine = self._record(f"{holder} on {socket.gethostname()}", uuid.uuid4().hex)
        try:
            self.store.write_conditional(
                self.key,
                mine.dumps(),
                if_version=current[1] if current else None,
                content_type="application/json",
            )
        except PreconditionFailedError:
            return None  # another run got there first
        confirmed = self.read()  # a store that ignored the condition would show the other writer here
        if confirmed is None or confirmed[0].token != mine.token:
            return None
        if current is not None and not current[0].released:
            log.warning(
                "took over the expired lease of %s (expired %s)", current[0].holder, current[0].expires_at
            )
        return mine

    def acquire(self, holder: str, wait_seconds: float, poll_seconds: float = 2.0) -> LeaseRecord:
        """Take the lease, waiting up to `wait_seconds` for the run that holds it."""
        deadline = time.monotonic() + wait_seconds
        while True:
            lease = self.try_acquire(holder)
            if lease is not None:
                return lease
            if time.monotonic() >= deadline:
                current = self.read()
                who = f"{current[0].holder} until {current[0].expires_at}" if current else "another run"
                raise LeaseHeldError(
                    f"another ingest run of this pipeline holds {self.uri}: {who}; this run waited "
                    f"{wait_seconds:.0f}s and will be retried"
                )
            log.info("lease %s is held by another run; waiting", self.uri)
            self.sleep(poll_seconds)

    def renew(self, token: str) -> LeaseRecord:
        """Push the expiry of our lease forward; LeaseLostError if another run holds it now."""
        for _ in range(5):
            current = self.read()
            if current is None or current[0].token != token or current[0].released:
                holder = current[0].holder if current else "nobody"
                raise LeaseLostError(
                    f"this run's lease {self.uri} is gone (now held by {holder}); stopping so that two runs "
                    "never write the ledger at once. The next run carries on."
                )
            renewed = self._record(current[0].holder, token, current[0].acquired_at)
            try:
                self.store.write_conditional(self.key, renewed.dumps(), if_version=current[1],
                                             content_type="application/json")  # fmt: skip
                return renewed
            except PreconditionFailedError:
                continue  # a sibling task of this run renewed it meanwhile: read again
        raise LeaseLostError(f"could not renew {self.uri}: it keeps changing under this run")

    def release(self, token: str) -> bool:
        """Mark our lease released; False when it is not ours (any more)."""
        for _ in range(5):
            current = self.read()
            if current is None or current[0].token != token:
                return False
            if current[0].released:
                return True
            released = LeaseRecord(
                **{**asdict(current[0]), "released": True, "renewed_at": self.clock().isoformat()}
            )
            try:
                self.store.write_conditional(self.key, released.dumps(), if_version=current[1],
                                             content_type="application/json")  # fmt: skip
                return True
            except PreconditionFailedError:
                continue
        return False

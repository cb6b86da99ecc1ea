"""Upload jobs: the one parser of a job's status and the one polling loop.

`JobState.from_sdk` reads the SDK's `UploadLongPollingState` once; everything else (the register operator,
the trigger, reconciliation, chunk results) works on `JobState` and its statuses. `UploadJobWatch` decides,
poll by poll, whether to keep waiting, back off after a failed poll, or stop; it is plain Python, so the
deferrable trigger drives it from asyncio and tests drive it with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from encord_provider.errors import TransientError

PENDING = "PENDING"
DONE = "DONE"
FINISHED_STATUSES = (DONE, "ERROR", "CANCELLED")
MAX_BACKOFF_SECONDS = 60.0


def is_finished(status: object) -> bool:
    """True for a job status (or an event's `status`) that Encord will not change any more."""
    return status in FINISHED_STATUSES


@dataclass(frozen=True)
class JobState:
    """An upload job's status, parsed once from the SDK's `UploadLongPollingState`."""

    status: str  # PENDING, DONE, ERROR or CANCELLED
    items: dict[str, str] = field(default_factory=dict)  # entry title -> storage item uuid
    unit_errors: dict[str, str] = field(default_factory=dict)  # object URL -> Encord's error
    errors: tuple[str, ...] = ()
    pending: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def finished(self) -> bool:
        return is_finished(self.status)

    @property
    def succeeded(self) -> bool:
        return self.status == DONE

    @classmethod
    def from_sdk(cls, state: Any) -> JobState:
        unit_errors: dict[str, str] = {}
        for unit in state.unit_errors:
            message = f"{unit.action_description}: {unit.error}" if unit.action_description else unit.error
            for url in unit.object_urls:
                unit_errors[url] = message
        return cls(
            status=str(getattr(state.status, "value", state.status)),
            items={item.name: str(item.item_uuid) for item in state.items_with_names},
            unit_errors=unit_errors,
            errors=tuple(state.errors),
            pending=state.units_pending_count,
            done=state.units_done_count,
            failed=state.units_error_count,
            cancelled=state.units_cancelled_count,
        )

    def counts(self) -> dict[str, int]:
        return {"units_pending": self.pending, "units_done": self.done, "units_error": self.failed,
                "units_cancelled": self.cancelled}  # fmt: skip


@dataclass(frozen=True)
class PollOutcome:
    """What one poll found. `stop` ends the wait with `status` (a job status, "timeout" or "error")."""

    stop: bool
    status: str
    wait: float = 0.0  # seconds until the next poll (when not stopping)
    state: JobState | None = None
    error: BaseException | None = None
    attempts: int = 0  # consecutive failed polls

    def event(self) -> dict[str, Any]:
        """The small, JSON-serialisable summary a trigger fires (the full result is re-read later)."""
        if self.error is not None:
            from encord_provider.errors import PermanentError

            return {"error": f"{type(self.error).__name__}: {self.error}", "attempts": self.attempts,
                    "permanent": isinstance(self.error, PermanentError)}  # fmt: skip
        if self.status == "timeout":
            return {"units_pending": self.state.pending if self.state else 0}
        return self.state.counts() if self.state else {}


class UploadJobWatch:
    """Polls one upload job until it finishes, times out, or polling keeps failing.

    A failed poll is tried again (backing off) only when it is transient, at most `max_consecutive_errors`
    times in a row; the timeout is checked after every poll that found the job pending.
    """

    def __init__(
        self,
        poll: Callable[[], JobState],
        *,
        interval: float,
        timeout: float,
        max_consecutive_errors: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.poll = poll
        self.interval = interval
        self.max_consecutive_errors = max_consecutive_errors
        self.clock = clock
        self.deadline = clock() + timeout
        self.errors = 0

    def step(self) -> PollOutcome:
        try:
            state = self.poll()
        except Exception as err:
            self.errors += 1
            if not isinstance(err, TransientError) or self.errors >= self.max_consecutive_errors:
                return PollOutcome(True, "error", error=err, attempts=self.errors)
            backoff = min(self.interval * 2**self.errors, MAX_BACKOFF_SECONDS)
            return PollOutcome(False, PENDING, wait=backoff, error=err, attempts=self.errors)
        self.errors = 0
        if state.finished:
            return PollOutcome(True, state.status, state=state)
        if self.clock() >= self.deadline:
            return PollOutcome(True, "timeout", state=state)
        return PollOutcome(False, state.status, wait=self.interval, state=state)

"""One ledger record per bucket object, and the state rules that decide what a run does with it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class ObjectState(StrEnum):
    PENDING = "pending"  # put into a chunk manifest, not yet sent to Encord
    SUBMITTED = "submitted"  # its chunk's upload job was started (upload_job_id set)
    REGISTERED = "registered"  # Encord created a storage item (item_uuid set)
    DUPLICATE = "duplicate"  # Encord skipped it: the URL was already in the folder
    REJECTED = "rejected"  # never sent (manifest rules) or gave up after max attempts
    FAILED = "failed"  # Encord reported a unit error; retried alone next run
    LINKED = "linked"  # item linked into every configured dataset
    DELETED = "deleted"  # gone from the bucket; its item (if any) kept in Encord, see `bucket_changes`


STATE_VALUES = frozenset(str(s) for s in ObjectState)
# Objects in these states are never sent to Encord again.
SETTLED_STATES = frozenset({ObjectState.REGISTERED, ObjectState.DUPLICATE, ObjectState.LINKED})
# Items in these states are waiting to be linked into the datasets.
LINKABLE_STATES = frozenset({ObjectState.REGISTERED, ObjectState.DUPLICATE})


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# A record as a plain tuple, in this column order: what the SQLite record table stores and reads.
ROW_FIELDS = ("key", "etag", "state", "item_uuid", "error", "upload_job_id", "chunk", "entry", "attempts",
              "updated_at")  # fmt: skip
OPTIONAL_TEXT = ("item_uuid", "error", "upload_job_id", "chunk", "entry")
RecordRow = tuple[str, str, str, str | None, str | None, str | None, str | None, str | None, int, str]


def row_of_json(data: dict[str, Any]) -> RecordRow:
    """A record line of a ledger file as a row; KeyError / ValueError if it is not a record."""
    state = data["state"]
    if state not in STATE_VALUES:
        raise ValueError(f"unknown state {state!r}")
    return (str(data["key"]), data.get("etag", ""), state, data.get("item_uuid"), data.get("error"),
            data.get("upload_job_id"), data.get("chunk"), data.get("entry"), int(data.get("attempts", 0)),
            data.get("updated_at") or utc_now())  # fmt: skip


@dataclass(slots=True)
class LedgerRecord:
    key: str
    etag: str
    state: ObjectState
    item_uuid: str | None = None
    error: str | None = None
    upload_job_id: str | None = None
    chunk: str | None = None  # URI of the chunk manifest the object was last sent in
    entry: str | None = None  # title of its manifest entry (several keys share one for groups/series)
    attempts: int = 0  # upload jobs that reported an error for this object
    updated_at: str = field(default_factory=utc_now)

    def to_json(self) -> dict[str, Any]:
        """Only the fields that are set (`key` always). Built by hand: `dataclasses.asdict` deep-copies
        every field and dominated ledger writes."""
        data: dict[str, Any] = {"key": self.key, "etag": self.etag, "state": str(self.state)}
        for name in OPTIONAL_TEXT:
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.attempts:
            data["attempts"] = self.attempts
        data["updated_at"] = self.updated_at
        return data

    def to_row(self) -> RecordRow:
        """The record as a row of `RecordTable` (the column order of `ROW_FIELDS`)."""
        return (self.key, self.etag, str(self.state), self.item_uuid, self.error, self.upload_job_id,
                self.chunk, self.entry, self.attempts, self.updated_at)  # fmt: skip

    @classmethod
    def from_row(cls, row: RecordRow) -> LedgerRecord:
        key, etag, state, item_uuid, error, job_id, chunk, entry, attempts, updated_at = row
        return cls(
            key, etag, ObjectState(state), item_uuid, error, job_id, chunk, entry, attempts, updated_at
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LedgerRecord:
        return cls.from_row(row_of_json(data))

    def moved(self, state: ObjectState, **changes: Any) -> LedgerRecord:
        """A copy in `state`, stamped now."""
        return replace(self, state=state, updated_at=utc_now(), **changes)


def needs_submission(previous: LedgerRecord | None, etag: str) -> bool:
    """Whether a listed object (with this etag) must go into this run's manifests.

    Settled objects are never re-sent (Encord identifies items by URL; `skip_duplicate_urls` is the
    second guard). A rejected object is retried only when its content changed. Submitted objects are
    reconciled against their upload job before planning, so one still `submitted` here is in flight.
    """
    if previous is None:
        return True
    if previous.state in SETTLED_STATES or previous.state == ObjectState.SUBMITTED:
        return False
    if previous.state == ObjectState.REJECTED:
        return previous.etag != etag
    return True  # pending (crashed before submission) or failed


@dataclass(frozen=True, slots=True)
class Watermark:
    """High-water mark of what the pipeline has seen: the newest last_modified it planned."""

    last_modified: str | None = None
    listed_at: str | None = None
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"last_modified": self.last_modified, "listed_at": self.listed_at, "run_id": self.run_id}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Watermark:
        data = data or {}
        return cls(data.get("last_modified"), data.get("listed_at"), data.get("run_id"))

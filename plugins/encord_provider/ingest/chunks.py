"""Chunk plans (which keys each manifest entry holds) and how an upload job's result updates the ledger.

A plan sits next to its manifest in staging (`.../chunks/chunk-00000.plan.json`); the plan URI is the only
thing passed between tasks (XCom). Plain Python, no Airflow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from encord_provider.encord_api import JobState
from encord_provider.ingest.stores import key_of_uri
from encord_provider.ledger import LedgerRecord, ObjectState
from encord_provider.storage.base import ObjectStore


@dataclass(frozen=True, slots=True)
class PlannedObject:
    key: str
    etag: str
    url: str
    attempts: int = 0  # earlier failed attempts, so the register task needs no full ledger read


@dataclass
class ChunkPlan:
    """One registration chunk: its manifest and the objects of each manifest entry (by entry title)."""

    name: str
    manifest_uri: str
    entries: dict[str, list[PlannedObject]] = field(default_factory=dict)

    @property
    def objects(self) -> list[PlannedObject]:
        return [obj for objs in self.entries.values() for obj in objs]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "manifest_uri": self.manifest_uri,
            "entries": {
                title: [{"key": o.key, "etag": o.etag, "url": o.url, "attempts": o.attempts} for o in objs]
                for title, objs in self.entries.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChunkPlan:
        entries = {title: [PlannedObject(**obj) for obj in objs] for title, objs in data["entries"].items()}
        return cls(name=data["name"], manifest_uri=data["manifest_uri"], entries=entries)

    def dumps(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode("utf-8")


def read_plan(staging: ObjectStore, plan_uri: str) -> ChunkPlan:
    """The chunk plan at `plan_uri` (a URI inside the staging store)."""
    return ChunkPlan.from_json(json.loads(staging.read_bytes(key_of_uri(staging, plan_uri))))


@dataclass
class JobOutcome:
    """What one upload job did to the objects of its chunk."""

    records: list[LedgerRecord]
    errors: dict[str, str]  # key -> Encord's per-file error

    def count(self, state: ObjectState) -> int:
        return sum(1 for record in self.records if record.state == state)


def apply_job_result(
    plan: ChunkPlan,
    plan_uri: str,
    job_id: str,
    state: JobState,
    previous: dict[str, LedgerRecord | None],
    max_attempts: int,
) -> JobOutcome:
    """Map a finished upload job's state onto ledger records for every object of the chunk.

    - entry title in `items_with_names` -> registered (item uuid);
    - an object URL in `unit_errors` -> failed (attempts + 1; rejected once attempts reach `max_attempts`);
    - otherwise, when the job is DONE -> duplicate: skipped because its URL was already in the folder
      (the link step finds its item uuid in the folder, or sends it back for a retry);
    - a job that ended ERROR / CANCELLED without naming the object -> failed with the job's error.
    """
    items, unit_errors = state.items, state.unit_errors
    job_error = "; ".join(state.errors) or f"upload job {job_id} ended {state.status}"
    records: list[LedgerRecord] = []
    errors: dict[str, str] = {}
    for title, objects in plan.entries.items():
        entry_error = next((unit_errors[o.url] for o in objects if o.url in unit_errors), None)
        for obj in objects:
            base = previous.get(obj.key)
            attempts = base.attempts if base is not None else obj.attempts
            record = LedgerRecord(
                key=obj.key, etag=obj.etag, state=ObjectState.PENDING, upload_job_id=job_id,
                chunk=plan_uri, entry=title, attempts=attempts,
            )  # fmt: skip
            if title in items:
                record = record.moved(ObjectState.REGISTERED, item_uuid=items[title])
            elif entry_error is None and state.succeeded:
                record = record.moved(ObjectState.DUPLICATE)
            else:
                error = entry_error or job_error
                failed_state = ObjectState.REJECTED if attempts + 1 >= max_attempts else ObjectState.FAILED
                record = record.moved(failed_state, error=error, attempts=attempts + 1)
                errors[obj.key] = error
            records.append(record)
    return JobOutcome(records=records, errors=errors)

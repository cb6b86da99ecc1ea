"""Stand-ins for the unit tests of `encord_provider.ingest` (no Airflow, no emulator): an Encord API that
records what it was asked, plus small builders for plans and pipelines. Holds no tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.encord_api import FolderIndex, JobState
from encord_provider.ingest.chunks import ChunkPlan, PlannedObject
from encord_provider.storage.local import LocalStore


def pipeline(tmp_path: Path, **overrides: Any) -> IngestPipeline:
    config: dict[str, Any] = {
        "name": "unit",
        "source": {"cloud": "s3", "bucket": "media", "prefix": "in/"},
        "integration": {"title": "x"},
        "folder": {"name": "folder"},
        "datasets": ["dataset"],
        "staging": {"uri": "s3://staging/base"},
        "chunking": {"max_entries": 2},
    }
    config.update(overrides)
    return IngestPipeline.model_validate(config)


def plan_of(*titles: str, name: str = "chunk-00000", manifest_uri: str = "file:///x.json") -> ChunkPlan:
    return ChunkPlan(
        name, manifest_uri, {t: [PlannedObject(f"in/{t}", f"etag-{t}", f"s3://media/in/{t}")] for t in titles}
    )


def done(items: dict[str, str], unit_errors: dict[str, str] | None = None, status: str = "DONE") -> JobState:
    return JobState(status=status, items=items, unit_errors=unit_errors or {}, done=len(items),
                    failed=len(unit_errors or {}))  # fmt: skip


@dataclass
class FakeApi:
    """Records the calls the ingest domain makes; the folder is a dict url/title -> item uuid."""

    by_url: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    started: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[str, JobState] = field(default_factory=dict)
    on_start: Callable[[dict[str, Any]], None] | None = None  # may raise (a lost response, a refusal)
    dataset_rows: dict[str, set[str]] = field(default_factory=dict)
    link_calls: list[tuple[str, list[str]]] = field(default_factory=list)
    tagged: dict[str, dict[str, Any]] = field(default_factory=dict)

    def start_upload_job(self, folder_uuid: str, integration_id: str, manifest: dict[str, Any]) -> str:
        self.started.append(manifest)
        if self.on_start is not None:
            self.on_start(manifest)
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = JobState(status="PENDING", pending=1)
        return job_id

    def register(self, *titles: str) -> dict[str, str]:
        """Make titles appear in the folder as a job would register them."""
        found = {}
        for title in titles:
            item = str(uuid.uuid4())
            self.by_url[f"s3://media/in/{title}"] = item
            self.by_name[title] = item
            found[title] = item
        return found

    def upload_job(self, folder_uuid: str, job_id: str, wait_seconds: int = 0) -> JobState:
        return self.jobs[job_id]

    def folder_index(self, folder_uuid: str) -> FolderIndex:
        return FolderIndex(dict(self.by_url), dict(self.by_name))

    def link_items(self, dataset_hash: str, item_uuids: list[str]) -> int:
        self.link_calls.append((dataset_hash, list(item_uuids)))
        rows = self.dataset_rows.setdefault(dataset_hash, set())
        new = set(item_uuids) - rows
        rows.update(item_uuids)
        return len(new)

    def tag_items(self, tags: dict[str, dict[str, Any]]) -> int:
        self.tagged.update(tags)
        return len(tags)


def staging(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "staging")

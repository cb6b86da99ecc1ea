"""Resolve a run's Encord targets (integration, folder, datasets) and reconcile them with the last run's.

`resources.json` (next to the ledger) remembers the folder and datasets a run used, and which datasets
hold every item the ledger linked (`complete_datasets`). Before a run trusts the ledger:

- a remembered folder that no longer exists (deleted, or replaced by another of the same name) means the
  ledger's items are gone: every registered object is requeued and registered into the folder now in use;
- a remembered dataset that no longer exists is found by title or created, and receives every item the
  ledger linked (a backfill), as does a dataset added to the config later.

Creations are non-retryable calls: after an ambiguous failure the folder (by name) or dataset (by title) is
looked up again before another create, so a lost response never leaves a twin. Runs that could race here
hold the pipeline lease (see `lease.py`). Plain Python over the staging store, the ledger and `EncordApi`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from encord_provider.config.ingest import DatasetConfig, FolderConfig, IngestPipeline
from encord_provider.encord_api import EncordApi
from encord_provider.ingest.errors import AmbiguousWriteError, EncordTargetError, EncordUnavailableError
from encord_provider.ingest.reconcile import requeue_for_new_folder
from encord_provider.ingest.stores import resources_key
from encord_provider.ledger import SETTLED_STATES, Ledger
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.errors import ObjectNotFoundError

log = logging.getLogger(__name__)
CREATE_ATTEMPTS = 3


@dataclass
class Targets:
    """What prepare hands the other tasks (a small XCom)."""

    integration_id: str
    folder_uuid: str
    dataset_hashes: list[str]
    lease_token: str = ""
    backfill: list[str] = field(default_factory=list)  # datasets that must also get the items linked before
    reconciled: dict[str, Any] = field(default_factory=dict)

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, data: dict[str, Any]) -> Targets:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Resources:
    folders: dict[str, str] = field(default_factory=dict)  # folder name -> uuid
    datasets: dict[str, str] = field(default_factory=dict)  # dataset title -> hash
    complete_datasets: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, staging: ObjectStore, key: str) -> Resources:
        try:
            data = json.loads(staging.read_bytes(key))
        except ObjectNotFoundError:
            return cls()
        return cls(data.get("folders", {}), data.get("datasets", {}), list(data.get("complete_datasets", [])))

    def write(self, staging: ObjectStore, key: str) -> None:
        staging.write_bytes(key, json.dumps(asdict(self), indent=1).encode(), "application/json")


def _find_or_create(find: Callable[[], str | None], create: Callable[[], str], what: str) -> tuple[str, str]:
    """(id, "found" | "created"); an ambiguous create is followed by another lookup, never a blind retry."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        existing = find()
        if existing:
            return existing, "found"
        try:
            created = create()
        except AmbiguousWriteError as err:
            log.warning("%s (attempt %d); looking it up again before anything else", err, attempt)
            time.sleep(min(2.0 * attempt, 5.0))
            continue
        log.info("created %s (%s)", what, created)
        return created, "created"
    found = find()
    if found:
        return found, "found"
    raise EncordUnavailableError(f"could not create or find {what}")


def _resolve(what: str, pinned: tuple[str, str | None], remembered: str | None, exists: Callable[[str], bool],
             find: Callable[[], str | None], create: Callable[[], str]) -> tuple[str, str]:  # fmt: skip
    """(id, how): the configured id if any (which must exist), else the remembered one while it exists,
    else found (by name or title) or created."""
    field_name, pinned_id = pinned
    if pinned_id:
        if not exists(pinned_id):
            raise EncordTargetError(f"{what}: no Encord {what.split()[0]} with {field_name} {pinned_id!r}")
        return pinned_id, "configured"
    if remembered:
        if exists(remembered):
            return remembered, "remembered"
        log.warning("the remembered %s (%s) no longer exists; looking it up again", what, remembered)
    return _find_or_create(find, create, what)


def resolve_folder(api: EncordApi, config: FolderConfig, remembered: str | None) -> tuple[str, str]:
    """The folder's uuid and how it was resolved: configured, remembered, found (by name) or created."""
    return _resolve(f"folder {config.name!r}", ("uuid", config.uuid), remembered, api.folder_exists,
                    lambda: api.top_level_folder(config.name), lambda: api.create_folder(config))  # fmt: skip


def resolve_dataset(api: EncordApi, config: DatasetConfig, remembered: str | None) -> tuple[str, str]:
    """The dataset's hash and how it was resolved: configured, remembered, found (by title) or created."""
    return _resolve(f"dataset {config.title!r}", ("hash", config.hash), remembered, api.dataset_exists,
                    lambda: api.dataset_by_title(config.title), lambda: api.create_dataset(config))  # fmt: skip


LedgerSource = Ledger | Callable[[], Iterable[Ledger]]  # one ledger, or its shards loaded one at a time


def _each(ledgers: LedgerSource) -> Iterable[Ledger]:
    return [ledgers] if isinstance(ledgers, Ledger) else ledgers()


def _has_items(ledgers: LedgerSource) -> bool:
    return any(SETTLED_STATES & set(ledger.counts()) for ledger in _each(ledgers))


def resolve_targets(pipeline: IngestPipeline, api: EncordApi, staging: ObjectStore, ledger: LedgerSource,
                    run_id: str) -> Targets:  # fmt: skip
    """Integration, folder and datasets for this run, reconciled with what the last run used. `ledger`
    is the pipeline's ledger, or a function giving its shards one by one (only one is in memory)."""
    key = resources_key(pipeline)
    known = Resources.read(staging, key)
    # a local source uploads into Encord-hosted storage: no cloud integration
    integration_id = api.integration_id(pipeline.integration) if pipeline.integration else ""
    remembered_folder = known.folders.get(pipeline.folder.name)
    folder_uuid, how = resolve_folder(api, pipeline.folder, remembered_folder)
    reconciled: dict[str, Any] = {}
    has_items = _has_items(ledger)
    if (remembered_folder and remembered_folder != folder_uuid) or (how == "created" and has_items):
        requeued = sum(
            requeue_for_new_folder(shard, remembered_folder, folder_uuid, run_id) for shard in _each(ledger)
        )
        reconciled["folder_replaced"] = {"old": remembered_folder, "new": folder_uuid, "requeued": requeued}
    complete = set(known.complete_datasets)
    datasets: dict[str, str] = {}
    backfill: list[str] = []
    for dataset in pipeline.datasets:
        remembered = known.datasets.get(dataset.title)
        dataset_hash, how = resolve_dataset(api, dataset, remembered)
        datasets[dataset.title] = dataset_hash
        if dataset_hash not in complete:
            backfill.append(dataset_hash)
            if remembered and remembered != dataset_hash:
                reconciled.setdefault("datasets_replaced", []).append(
                    {"title": dataset.title, "old": remembered, "new": dataset_hash}
                )
            elif not remembered and has_items:
                reconciled.setdefault("datasets_added", []).append(
                    {"title": dataset.title, "hash": dataset_hash}
                )
        attached = api.attach_dataset_to_projects(dataset_hash, dataset.attach_to_projects)
        if attached:
            log.info("attached dataset %r to projects %s", dataset.title, attached)
    remembered_now = Resources(
        folders={**known.folders, pipeline.folder.name: folder_uuid},
        datasets=datasets,
        complete_datasets=sorted(complete & set(datasets.values())),
    )
    if remembered_now != known:
        remembered_now.write(staging, key)
    for what, value in reconciled.items():
        log.warning("reconciled with Encord: %s: %s", what, value)
    return Targets(
        integration_id, folder_uuid, list(datasets.values()), backfill=backfill, reconciled=reconciled
    )


def mark_datasets_complete(pipeline: IngestPipeline, staging: ObjectStore, dataset_hashes: list[str]) -> None:
    """After a successful link: these datasets now hold every item the ledger linked."""
    key = resources_key(pipeline)
    known = Resources.read(staging, key)
    complete = sorted(set(known.complete_datasets) | (set(dataset_hashes) & set(known.datasets.values())))
    if complete != known.complete_datasets:
        Resources(known.folders, known.datasets, complete).write(staging, key)

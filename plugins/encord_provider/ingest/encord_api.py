"""Encord-side steps of ingestion through the real SDK: resolve targets, start jobs, read results, link.

Plain functions over an `EncordUserClient`; no Airflow. Calls the SDK does not retry (link_items, job
start, creations) go through `call_with_retries`; creations re-check for the resource before retrying,
so a 5xx on a create that actually succeeded does not create a second folder or dataset.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from encord_provider.config.ingest import DatasetConfig, FolderConfig, IntegrationRef

log = logging.getLogger(__name__)
T = TypeVar("T")
LINK_BATCH = 1000


class EncordTargetError(RuntimeError):
    """A configured integration, folder or dataset cannot be found or used."""


def is_transient(err: BaseException) -> bool:
    from encord.exceptions import RateLimitExceededError, RequestException, UnknownException

    return isinstance(err, RateLimitExceededError | RequestException | UnknownException | ConnectionError)


def call_with_retries(
    fn: Callable[[], T], what: str, attempts: int = 6, base_delay: float = 0.5, max_delay: float = 30.0
) -> T:
    """Retry rate limits (honouring Retry-After), 5xx and dropped connections with exponential backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as err:
            if not is_transient(err) or attempt == attempts:
                raise
            retry_after = getattr(err, "retry_after", None)
            delay = float(retry_after) if retry_after else min(base_delay * 2 ** (attempt - 1), max_delay)
            log.warning(
                "%s failed (%s); retry %d/%d in %.1fs", what, type(err).__name__, attempt, attempts, delay
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


def resolve_integration(client: Any, ref: IntegrationRef) -> str:
    """The integration id (uuid) for a configured title or uuid."""
    integrations = call_with_retries(client.get_cloud_integrations, "list cloud integrations")
    for integration in integrations:
        if (ref.uuid and str(integration.id) == ref.uuid) or (ref.title and integration.title == ref.title):
            return str(integration.id)
    known = sorted(integration.title for integration in integrations)
    wanted = f"uuid {ref.uuid!r}" if ref.uuid else f"title {ref.title!r}"
    raise EncordTargetError(f"no Encord cloud integration with {wanted}; this key can use {known}")


def _find_top_level_folder(client: Any, name: str) -> Any | None:
    folders = call_with_retries(lambda: list(client.find_storage_folders(search=name)), "find folders")
    matches = [f for f in folders if f.name == name and f.parent_uuid is None]
    if len(matches) > 1:
        uuids = sorted(str(f.uuid) for f in matches)
        raise EncordTargetError(
            f"{len(matches)} top-level Encord folders are named {name!r}: {uuids}; keep one, or set its `uuid` "
            "in the pipeline's folder entry"
        )
    return matches[0] if matches else None


def _exists(fetch: Callable[[], Any], what: str) -> bool:
    """False when Encord answers "not found"; other errors propagate (a failed lookup is not "missing")."""
    from encord.exceptions import ResourceNotFoundError

    try:
        call_with_retries(fetch, what)
    except ResourceNotFoundError:
        return False
    return True


def _folder_exists(client: Any, folder_uuid: str) -> bool:
    return _exists(lambda: client.get_storage_folder(UUID(folder_uuid)), "get folder")


def ensure_folder(client: Any, config: FolderConfig, known_uuid: str | None = None) -> str:
    """The uuid of the configured folder; created at the top level when missing."""
    if config.uuid:
        folder = call_with_retries(lambda: client.get_storage_folder(UUID(config.uuid)), "get folder")
        return str(folder.uuid)
    if known_uuid:
        if _folder_exists(client, known_uuid):
            return known_uuid
        log.warning("cached folder %s no longer exists; looking %r up by name", known_uuid, config.name)
    for _ in range(3):
        existing = _find_top_level_folder(client, config.name)
        if existing is not None:
            return str(existing.uuid)
        try:
            created = client.create_storage_folder(config.name, description=config.description or None)
            log.info("created Encord folder %r (%s)", config.name, created.uuid)
            return str(created.uuid)
        except Exception as err:
            if not is_transient(err):
                raise
            log.warning("creating folder %r failed (%s); looking again", config.name, type(err).__name__)
            time.sleep(1.0)
    raise EncordTargetError(f"could not create or find folder {config.name!r}")


def _find_dataset(client: Any, title: str) -> str | None:
    """The hash of the one dataset titled exactly `title`, None when there is none.

    Errors propagate: a failed lookup must not be taken for "missing", or the caller creates a twin.
    """
    found = call_with_retries(lambda: client.get_datasets(title_eq=title), "look up dataset by title")
    hashes = sorted(
        {str(entry["dataset"].dataset_hash) for entry in found if entry["dataset"].title == title}
    )
    if len(hashes) > 1:
        raise EncordTargetError(
            f"{len(hashes)} Encord datasets are titled {title!r}: {hashes}; keep one, or set its `hash` in the "
            "pipeline's datasets entry"
        )
    return hashes[0] if hashes else None


def _dataset_exists(client: Any, dataset_hash: str) -> bool:
    return _exists(partial(client.get_dataset, dataset_hash, include_data_rows=False), "get dataset")


def ensure_dataset(client: Any, config: DatasetConfig, known_hash: str | None = None) -> str:
    """The hash of the configured dataset: its `hash`, else the one titled `title` (created when missing).

    `known_hash` (resources.json) is only a cache: used while that dataset exists, else the title decides.
    """
    if config.hash:
        if not _dataset_exists(client, config.hash):
            raise EncordTargetError(f"dataset {config.title!r}: no Encord dataset with hash {config.hash!r}")
        return config.hash
    if known_hash:
        if _dataset_exists(client, known_hash):
            return known_hash
        log.warning(
            "remembered dataset %s of %r no longer exists; looking it up by title", known_hash, config.title
        )
    for _ in range(3):
        existing = _find_dataset(client, config.title)
        if existing:
            return existing
        try:
            created = client.create_dataset(
                config.title, dataset_type=_storage_location_any(), dataset_description=config.description or None,
                create_backing_folder=False,
            )  # fmt: skip
            log.info("created Encord dataset %r (%s)", config.title, created.dataset_hash)
            return str(created.dataset_hash)
        except Exception as err:
            if not is_transient(err):
                raise
            log.warning("creating dataset %r failed (%s); looking again", config.title, type(err).__name__)
            time.sleep(1.0)
    raise EncordTargetError(f"could not create or find dataset {config.title!r}")


def _storage_location_any() -> Any:
    from encord.orm.dataset import StorageLocation

    return StorageLocation.CORD_STORAGE  # not sent by the SDK for v2 datasets; required positionally


def _listed(fn: Callable[[], Iterable[Any]]) -> list[Any]:
    return list(fn())


def attach_dataset_to_projects(client: Any, dataset_hash: str, project_hashes: Iterable[str]) -> list[str]:
    """Attach the dataset to each project that does not have it yet; returns the projects changed."""
    changed = []
    for project_hash in project_hashes:
        project: Any = call_with_retries(partial(client.get_project, project_hash), "get project")
        listed: list[Any] = call_with_retries(
            partial(_listed, project.list_datasets), "list project datasets"
        )
        if dataset_hash in {str(d.dataset_hash) for d in listed}:
            continue
        call_with_retries(partial(project.add_datasets, [dataset_hash]), "attach dataset")
        changed.append(project_hash)
    return changed


def start_upload_job(client: Any, folder_uuid: str, integration_id: str, manifest: dict[str, Any]) -> str:
    """Start one registration job (ignore_errors so one bad file does not fail the chunk)."""
    folder = call_with_retries(lambda: client.get_storage_folder(UUID(folder_uuid)), "get folder")
    job_id = call_with_retries(
        lambda: folder.add_private_data_to_folder_start(integration_id, manifest, ignore_errors=True),
        "start upload job",
    )
    return str(job_id)


def read_upload_job(client: Any, folder_uuid: str, job_id: str) -> Any:
    """The job's current UploadLongPollingState (one non-blocking poll)."""
    folder = call_with_retries(lambda: client.get_storage_folder(UUID(folder_uuid)), "get folder")
    return call_with_retries(
        lambda: folder.add_private_data_to_folder_get_result(UUID(job_id), timeout_seconds=0),
        "read upload job",
    )


@dataclass
class FolderIndex:
    """Item uuids of a folder by URL and by name, for resolving skipped duplicates."""

    by_url: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)

    def find(self, url: str | None, name: str | None) -> str | None:
        return (url and self.by_url.get(url)) or (name and self.by_name.get(name)) or None


def index_folder(client: Any, folder_uuid: str) -> FolderIndex:
    folder = call_with_retries(lambda: client.get_storage_folder(UUID(folder_uuid)), "get folder")
    index = FolderIndex()
    for item in call_with_retries(lambda: list(folder.list_items(page_size=1000)), "list folder items"):
        if getattr(item, "url", None):
            index.by_url[item.url] = str(item.uuid)
        index.by_name.setdefault(item.name, str(item.uuid))
    return index


def _batches(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def link_items(client: Any, dataset_hash: str, item_uuids: list[str]) -> int:
    """Link items into a dataset (SKIP duplicates, so a rerun is harmless); returns rows newly linked."""
    from encord.orm.dataset import DataLinkDuplicatesBehavior

    dataset = call_with_retries(
        lambda: client.get_dataset(dataset_hash, include_data_rows=False), "get dataset"
    )
    linked = 0
    for batch in _batches(item_uuids, LINK_BATCH):
        uuids = [UUID(u) for u in batch]
        rows: list[Any] = call_with_retries(
            partial(dataset.link_items, uuids, DataLinkDuplicatesBehavior.SKIP),
            f"link {len(batch)} items into {dataset_hash}",
        )
        linked += len(rows)
    return linked

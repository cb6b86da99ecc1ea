"""`EncordApi`: the provider's one gateway to Encord, over the real SDK's `EncordUserClient`; no Airflow.

Why here: every Encord call of the provider (ingest, the upload-job trigger, agents, export) goes through
this package, so it sits beside the domain packages rather than inside one of them; `EncordHook.api`
builds it from an Airflow connection. The package splits into three concerns:

- `calls`: error classification and retries (`read` for retryable calls, `write_once` for the calls the
  SDK marks non-retryable: starting an upload job, creating a folder or dataset, linking items);
- `jobs`: the upload-job status parser (`JobState`) and the polling loop (`UploadJobWatch`);
- `gateway` (this module): the operations, each made through `calls`; those that find or create
  ontologies and projects from config are in `project_setup` (a mixin of `EncordApi`).

Errors a retry cannot fix become permanent errors naming the connection, the domain or the target.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from encord_provider.config.ingest import DatasetConfig, FolderConfig, IntegrationRef
from encord_provider.encord_api.calls import RetryPolicy
from encord_provider.encord_api.jobs import JobState, UploadJobWatch
from encord_provider.encord_api.project_setup import ProjectSetupCalls
from encord_provider.encord_api.uploads import upload_call, upload_evidence
from encord_provider.ingest.errors import (
    AmbiguousWriteError,
    EncordTargetError,
    EncordUnavailableError,
    UploadRefusedError,
)
from encord_provider.manifests.datatypes import DataType

if TYPE_CHECKING:
    from encord.project import Project
    from encord.user_client import EncordUserClient

    from encord_provider.hooks.encord import EncordHook

log = logging.getLogger(__name__)
LINK_BATCH = 1000
LIST_PAGE = 1000


@dataclass
class FolderIndex:
    """Item uuids of a folder by URL and by name (the Encord-side evidence of what a job registered)."""

    by_url: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    urls_seen_twice: set[str] = field(default_factory=set)

    def find(self, url: str | None, name: str | None) -> str | None:
        return (url and self.by_url.get(url)) or (name and self.by_name.get(name)) or None


def _batches(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class EncordApi(ProjectSetupCalls):
    """The provider's gateway to Encord. `conn_id` and `domain` only name the connection in errors.

    `client` is the SDK's `EncordUserClient` (typed `Any` so tests can pass a fake with the same calls)."""

    def __init__(
        self,
        client: EncordUserClient | Any,
        *,
        conn_id: str = "",
        domain: str = "",
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(conn_id=conn_id, domain=domain, retry=retry, sleep=sleep)
        self.client = client

    @classmethod
    def from_connection(cls, conn_id: str) -> EncordApi:
        """The gateway of an Airflow connection of type `encord` (see `EncordHook.api`)."""
        from encord_provider.hooks.encord import EncordHook

        return EncordHook(encord_conn_id=conn_id).api

    @classmethod
    def from_hook(cls, hook: EncordHook) -> EncordApi:
        return cls(hook.client, conn_id=hook.encord_conn_id, domain=hook.domain)

    # -- projects ------------------------------------------------------------------------------

    def project(self, project_hash: str) -> Project:
        """The SDK project (agents and export work on its objects directly)."""
        project: Project = self.read(
            partial(self.client.get_project, project_hash), f"get project {project_hash}"
        )
        return project

    # -- integration, folder, datasets, projects -----------------------------------------------

    def integration_id(self, ref: IntegrationRef) -> str:
        """The integration id (uuid) for a configured title or uuid."""
        integrations = self.read(self.client.get_cloud_integrations, "list cloud integrations")
        for integration in integrations:
            if (ref.uuid and str(integration.id) == ref.uuid) or (
                ref.title and integration.title == ref.title
            ):
                return str(integration.id)
        known = sorted(integration.title for integration in integrations)
        wanted = f"uuid {ref.uuid!r}" if ref.uuid else f"title {ref.title!r}"
        raise EncordTargetError(
            f"no Encord cloud integration with {wanted} for connection {self.conn_id!r}; this key can use {known}"
        )

    def _folder(self, folder_uuid: str) -> Any:
        return self.read(lambda: self.client.get_storage_folder(UUID(folder_uuid)), "get folder")

    def folder_exists(self, folder_uuid: str) -> bool:
        return self.exists(lambda: self.client.get_storage_folder(UUID(folder_uuid)), "get folder")

    def top_level_folder(self, name: str) -> str | None:
        """The uuid of the one top-level folder called `name`; two of them are an error naming both."""
        folders = self.read(lambda: list(self.client.find_storage_folders(search=name)), "find folders")
        matches = sorted(str(f.uuid) for f in folders if f.name == name and f.parent_uuid is None)
        if len(matches) > 1:
            raise EncordTargetError(
                f"{len(matches)} top-level Encord folders are named {name!r}: {matches}; keep one, or set its "
                "`uuid` in the pipeline's folder entry"
            )
        return matches[0] if matches else None

    def create_folder(self, config: FolderConfig) -> str:
        created = self.write_once(
            lambda: self.client.create_storage_folder(config.name, description=config.description or None),
            f"create folder {config.name!r}",
        )
        return str(created.uuid)

    def dataset_exists(self, dataset_hash: str) -> bool:
        return self.exists(
            partial(self.client.get_dataset, dataset_hash, include_data_rows=False), "get dataset"
        )

    def dataset_by_title(self, title: str) -> str | None:
        """The hash of the one dataset titled exactly `title`; two of them are an error naming both."""
        found = self.read(lambda: self.client.get_datasets(title_eq=title), "look up dataset by title")
        hashes = sorted(
            {str(entry["dataset"].dataset_hash) for entry in found if entry["dataset"].title == title}
        )
        if len(hashes) > 1:
            raise EncordTargetError(
                f"{len(hashes)} Encord datasets are titled {title!r}: {hashes}; keep one, or set its `hash` in "
                "the pipeline's datasets entry"
            )
        return hashes[0] if hashes else None

    def create_dataset(self, config: DatasetConfig) -> str:
        from encord.orm.dataset import StorageLocation

        created = self.write_once(
            lambda: self.client.create_dataset(
                config.title, dataset_type=StorageLocation.CORD_STORAGE,
                dataset_description=config.description or None, create_backing_folder=False,
            ),  # the storage location is not sent for v2 datasets, but is required positionally
            f"create dataset {config.title!r}",
        )  # fmt: skip
        return str(created.dataset_hash)

    def attach_dataset_to_projects(self, dataset_hash: str, project_hashes: Iterable[str]) -> list[str]:
        """Attach the dataset to each project that does not have it yet; returns the projects changed."""
        changed = []
        for project_hash in project_hashes:
            project: Any = self.read(partial(self.client.get_project, project_hash), "get project")
            if self._project_has(project, dataset_hash):
                continue
            try:
                self.write_once(partial(project.add_datasets, [dataset_hash]), "attach dataset")
            except AmbiguousWriteError:
                if not self._project_has(project, dataset_hash):
                    raise
            changed.append(project_hash)
        return changed

    def _project_has(self, project: Any, dataset_hash: str) -> bool:
        listed: list[Any] = self.read(lambda: list(project.list_datasets()), "list project datasets")
        return dataset_hash in {str(d.dataset_hash) for d in listed}

    # -- upload jobs ---------------------------------------------------------------------------

    def start_upload_job(self, folder_uuid: str, integration_id: str, manifest: dict[str, Any]) -> str:
        """Start one registration job (`ignore_errors`: one bad file does not fail the chunk). Never retried
        after a 5xx or a dropped connection: `AmbiguousWriteError` then, and the caller looks for evidence."""
        folder = self._folder(folder_uuid)
        job_id = self.write_once(
            lambda: folder.add_private_data_to_folder_start(integration_id, manifest, ignore_errors=True),
            f"start upload job in folder {folder_uuid}",
        )
        return str(job_id)

    def upload_job(self, folder_uuid: str, job_id: str, wait_seconds: int = 0) -> JobState:
        """The job's state: one poll, held by Encord up to `wait_seconds` while the job is pending."""
        folder = self._folder(folder_uuid)
        state = self.read(
            lambda: folder.add_private_data_to_folder_get_result(UUID(job_id), timeout_seconds=wait_seconds),
            f"read upload job {job_id}",
        )
        return JobState.from_sdk(state)

    def watch_upload_job(
        self,
        folder_uuid: str,
        job_id: str,
        *,
        interval: float,
        timeout: float,
        max_consecutive_errors: int = 3,
    ) -> UploadJobWatch:
        """The polling loop of one upload job; each step is one non-blocking `upload_job` poll."""
        return UploadJobWatch(
            partial(self.upload_job, folder_uuid, job_id),
            interval=interval, timeout=timeout, max_consecutive_errors=max_consecutive_errors,
        )  # fmt: skip

    # -- Encord-hosted uploads (local sources) ---------------------------------------------------

    def upload_files(
        self,
        folder_uuid: str,
        data_type: DataType,
        paths: list[Path],
        title: str,
        client_metadata: dict[str, Any],
    ) -> str:
        """Upload local files as one item through the SDK's `StorageFolder` upload call; its uuid.

        Never re-sent after a 5xx or a dropped connection (`AmbiguousWriteError`: the item may exist; the
        caller looks for its upload evidence). Encord refusing the file raises `UploadRefusedError`; a PUT
        to the signed URL that kept failing registered nothing (`EncordUnavailableError`)."""
        from encord.exceptions import CloudUploadError, EncordException

        folder = self._folder(folder_uuid)
        try:
            call = upload_call(folder, data_type, paths, title, client_metadata)
            return str(self.write_once(call, f"upload {data_type} {title!r} into folder {folder_uuid}"))
        except ValueError as err:  # the SDK's own check, before any request (e.g. a text type it cannot send)
            raise UploadRefusedError(f"the SDK cannot upload {title!r}: {err}") from err
        except CloudUploadError as err:
            raise EncordUnavailableError(f"upload of {title!r} to its signed URL failed: {err}") from err
        except EncordException as err:
            if type(err) is EncordException and "errors occurred" in str(
                err
            ):  # the registration job's unit error
                raise UploadRefusedError(f"Encord refused {title!r}: {err}") from err
            raise

    def upload_evidence(self, folder_uuid: str) -> dict[str, tuple[str, str]]:
        """Upload id -> (item uuid, token) of every item of the folder uploaded by a local source."""
        folder = self._folder(folder_uuid)
        items = self.read(lambda: list(folder.list_items(page_size=LIST_PAGE)), "list folder items")
        found: dict[str, tuple[str, str]] = {}
        for item in items:
            evidence = upload_evidence(item)
            if evidence is not None:
                found.setdefault(evidence[0], (str(item.uuid), evidence[1]))
        return found

    # -- items and data rows ---------------------------------------------------------------------

    def folder_index(self, folder_uuid: str) -> FolderIndex:
        """Every item of the folder by URL and by name."""
        folder = self._folder(folder_uuid)
        index = FolderIndex()
        items = self.read(lambda: list(folder.list_items(page_size=LIST_PAGE)), "list folder items")
        for item in items:
            url = getattr(item, "url", None)
            if url:
                if url in index.by_url:
                    index.urls_seen_twice.add(url)
                index.by_url.setdefault(url, str(item.uuid))
            index.by_name.setdefault(item.name, str(item.uuid))
        return index

    def dataset_items(self, dataset_hash: str) -> set[str]:
        """Storage item uuids behind the dataset's data rows."""
        dataset = self.read(lambda: self.client.get_dataset(dataset_hash), "get dataset rows")
        return {str(row.backing_item_uuid) for row in dataset.data_rows if row.backing_item_uuid}

    def link_items(self, dataset_hash: str, item_uuids: list[str]) -> int:
        """Link items into a dataset (SKIP duplicates); returns rows newly linked.

        `link_items` is non-retryable in the SDK: after an ambiguous failure the dataset's rows are read and
        only the items still missing are linked again."""
        from encord.orm.dataset import DataLinkDuplicatesBehavior

        dataset = self.read(
            lambda: self.client.get_dataset(dataset_hash, include_data_rows=False), "get dataset"
        )
        linked = 0
        for batch in _batches(item_uuids, LINK_BATCH):
            todo = batch
            for _ in range(self.retry.attempts):
                try:
                    rows = self.write_once(
                        partial(dataset.link_items, [UUID(u) for u in todo], DataLinkDuplicatesBehavior.SKIP),
                        f"link {len(todo)} items into dataset {dataset_hash}",
                    )
                    linked += len(rows)
                    break
                except AmbiguousWriteError as err:
                    present = self.dataset_items(dataset_hash)
                    missing = [u for u in todo if u not in present]
                    linked += len(todo) - len(missing)
                    log.warning(
                        "%s; %d of %d items are in the dataset", err, len(todo) - len(missing), len(todo)
                    )
                    if not missing:
                        break
                    todo = missing
            else:
                raise EncordUnavailableError(f"linking into dataset {dataset_hash} kept failing")
        return linked

    def tag_items(self, tags: dict[str, dict[str, Any]]) -> int:
        """Merge `{"encord_ingest": tags[item]}` into each item's client metadata (bucket-change policies);
        the item's other metadata is kept. Returns the number of items updated."""
        changed = 0
        for batch in _batches(sorted(tags), LINK_BATCH):
            items = self.read(partial(self.client.get_storage_items, batch), "get storage items")
            for item in items:
                metadata = dict(item.client_metadata or {})
                metadata["encord_ingest"] = {
                    **dict(metadata.get("encord_ingest") or {}),
                    **tags[str(item.uuid)],
                }
                self.read(
                    partial(item.update, client_metadata=metadata), f"update metadata of item {item.uuid}"
                )
                changed += 1
        return changed

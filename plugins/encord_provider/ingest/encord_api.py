"""Every Encord call of the ingest path, with one error classification and one upload-job status parser.

`EncordApi` wraps an `EncordUserClient` (the real SDK); no Airflow. Two kinds of call:

- **Reads** and calls the SDK itself retries (lookups, job status, listings, item updates) go through
  `_read`: rate limits (honouring Retry-After), 5xx and dropped connections are retried with backoff.
- **Calls the SDK marks non-retryable** (`allow_retries=False` / `retryable=False`: start an upload job,
  create a folder or dataset, link items) go through `_write_once`: one attempt. A 429 is retried, since
  the rate limiter refused the request before anything happened. Any other 5xx or transport failure may
  have been carried out (a lost response), so it raises `AmbiguousWriteError` and the caller first looks
  at Encord (the folder by name, the dataset by title, the folder's items by URL, the dataset's rows)
  before anything is sent again.

Errors a retry cannot fix become `PermanentIngestError`s naming the connection, the domain or the target.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

from encord_provider.config.ingest import DatasetConfig, FolderConfig, IntegrationRef
from encord_provider.ingest.errors import (
    AmbiguousWriteError,
    EncordAccessError,
    EncordTargetError,
    EncordUnavailableError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
LINK_BATCH = 1000
LIST_PAGE = 1000
FINISHED_STATUSES = ("DONE", "ERROR", "CANCELLED")


class ErrorKind(Enum):
    RATE_LIMITED = "rate_limited"  # refused before anything happened; retry after Retry-After
    UNAVAILABLE = "unavailable"  # 5xx / transport: a read can be retried, a write may have happened
    NOT_FOUND = "not_found"
    REJECTED = "rejected"  # 400 / 405 / 409 / 413: the request itself is wrong
    ACCESS = "access"  # 401 / 403, a missing or unreadable key
    OTHER = "other"  # not an Encord error: a bug, left alone


def classify(err: BaseException) -> ErrorKind:
    """The one place that decides what an SDK exception means."""
    from encord import exceptions as e
    from requests import RequestException as TransportError

    if isinstance(err, e.RateLimitExceededError):
        return ErrorKind.RATE_LIMITED
    if isinstance(err, e.ResourceNotFoundError):
        return ErrorKind.NOT_FOUND
    if isinstance(err, e.AuthenticationError | e.AuthorisationError):
        return ErrorKind.ACCESS
    if isinstance(
        err,
        e.InvalidArgumentsError | e.MethodNotAllowedError | e.ResourceExistsError | e.PayloadTooLargeError,
    ):
        return ErrorKind.REJECTED
    unavailable = (
        e.UnknownException,
        e.RequestException,
        e.GenericServerError,
        e.TimeOutError,
        TransportError,
    )
    if isinstance(err, unavailable + (ConnectionError, TimeoutError)):
        return ErrorKind.UNAVAILABLE
    return ErrorKind.OTHER


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, err: BaseException) -> float:
        retry_after = getattr(err, "retry_after", None)
        return (
            float(retry_after) if retry_after else min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        )


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
        return self.status in FINISHED_STATUSES

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


class EncordApi:
    """The ingest path's gateway to Encord. `conn_id` and `domain` only name the connection in errors."""

    def __init__(
        self, client: Any, *, conn_id: str = "", domain: str = "", retry: RetryPolicy | None = None
    ) -> None:
        self.client = client
        self.conn_id = conn_id
        self.domain = domain
        self.retry = retry or RetryPolicy()

    @classmethod
    def from_connection(cls, conn_id: str) -> EncordApi:
        from encord_provider.hooks.encord import EncordHook

        hook = EncordHook(encord_conn_id=conn_id)
        try:
            client = hook.client  # parses the private key; no request yet
        except (ValueError, TypeError) as err:  # missing or malformed key
            raise EncordAccessError(
                f"Encord connection {conn_id!r}: cannot use its private key: {err}"
            ) from err
        return cls(client, conn_id=conn_id, domain=hook.domain)

    # -- the two ways of calling -----------------------------------------------------------------

    def _permanent(self, err: BaseException, what: str) -> Exception | None:
        kind = classify(err)
        where = f"Encord connection {self.conn_id!r}" + (f" ({self.domain})" if self.domain else "")
        if kind is ErrorKind.ACCESS:
            return EncordAccessError(f"{what}: {where} was refused: {err}")
        if kind is ErrorKind.REJECTED:
            return EncordTargetError(f"{what}: Encord rejected the request ({type(err).__name__}: {err})")
        return None

    def _read(self, fn: Callable[[], T], what: str) -> T:
        """Retry rate limits, 5xx and dropped connections; translate permanent errors."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return fn()
            except Exception as err:
                kind = classify(err)
                if kind not in (ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE):
                    permanent = self._permanent(err, what)
                    if permanent is not None:
                        raise permanent from err
                    raise
                if attempt == self.retry.attempts:
                    raise EncordUnavailableError(
                        f"{what}: Encord kept failing ({type(err).__name__}: {err})"
                    ) from err
                delay = self.retry.delay(attempt, err)
                log.warning("%s failed (%s); retry %d/%d in %.1fs", what, type(err).__name__, attempt,
                            self.retry.attempts, delay)  # fmt: skip
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _write_once(self, fn: Callable[[], T], what: str) -> T:
        """One attempt of a non-retryable call; only a 429 (nothing happened) is sent again."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return fn()
            except Exception as err:
                kind = classify(err)
                if kind is ErrorKind.RATE_LIMITED and attempt < self.retry.attempts:
                    delay = self.retry.delay(attempt, err)
                    log.warning("%s rate-limited; retry %d in %.1fs", what, attempt, delay)
                    time.sleep(delay)
                    continue
                if kind is ErrorKind.UNAVAILABLE:
                    raise AmbiguousWriteError(
                        f"{what}: {type(err).__name__} ({err}); Encord may have carried it out"
                    ) from err
                if kind is ErrorKind.RATE_LIMITED:
                    raise EncordUnavailableError(f"{what}: still rate-limited after {attempt} tries") from err
                permanent = self._permanent(err, what)
                if permanent is not None:
                    raise permanent from err
                raise
        raise AssertionError("unreachable")

    def _exists(self, fetch: Callable[[], Any], what: str) -> bool:
        """False when Encord answers "not found" (403 counts too: the docs say a missing folder may be
        reported as not authorised); a failed lookup is never taken for "missing"."""
        from encord.exceptions import AuthorisationError

        try:
            self._read(fetch, what)
        except EncordAccessError as err:
            if isinstance(err.__cause__, AuthorisationError):
                return False
            raise
        except Exception as err:
            if classify(err) is ErrorKind.NOT_FOUND:
                return False
            raise
        return True

    # -- integration, folder, datasets, projects -----------------------------------------------

    def integration_id(self, ref: IntegrationRef) -> str:
        """The integration id (uuid) for a configured title or uuid."""
        integrations = self._read(self.client.get_cloud_integrations, "list cloud integrations")
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
        return self._read(lambda: self.client.get_storage_folder(UUID(folder_uuid)), "get folder")

    def folder_exists(self, folder_uuid: str) -> bool:
        return self._exists(lambda: self.client.get_storage_folder(UUID(folder_uuid)), "get folder")

    def top_level_folder(self, name: str) -> str | None:
        """The uuid of the one top-level folder called `name`; two of them are an error naming both."""
        folders = self._read(lambda: list(self.client.find_storage_folders(search=name)), "find folders")
        matches = sorted(str(f.uuid) for f in folders if f.name == name and f.parent_uuid is None)
        if len(matches) > 1:
            raise EncordTargetError(
                f"{len(matches)} top-level Encord folders are named {name!r}: {matches}; keep one, or set its "
                "`uuid` in the pipeline's folder entry"
            )
        return matches[0] if matches else None

    def create_folder(self, config: FolderConfig) -> str:
        created = self._write_once(
            lambda: self.client.create_storage_folder(config.name, description=config.description or None),
            f"create folder {config.name!r}",
        )
        return str(created.uuid)

    def dataset_exists(self, dataset_hash: str) -> bool:
        return self._exists(
            partial(self.client.get_dataset, dataset_hash, include_data_rows=False), "get dataset"
        )

    def dataset_by_title(self, title: str) -> str | None:
        """The hash of the one dataset titled exactly `title`; two of them are an error naming both."""
        found = self._read(lambda: self.client.get_datasets(title_eq=title), "look up dataset by title")
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

        created = self._write_once(
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
            project: Any = self._read(partial(self.client.get_project, project_hash), "get project")
            if self._project_has(project, dataset_hash):
                continue
            try:
                self._write_once(partial(project.add_datasets, [dataset_hash]), "attach dataset")
            except AmbiguousWriteError:
                if not self._project_has(project, dataset_hash):
                    raise
            changed.append(project_hash)
        return changed

    def _project_has(self, project: Any, dataset_hash: str) -> bool:
        listed: list[Any] = self._read(lambda: list(project.list_datasets()), "list project datasets")
        return dataset_hash in {str(d.dataset_hash) for d in listed}

    # -- upload jobs ---------------------------------------------------------------------------

    def start_upload_job(self, folder_uuid: str, integration_id: str, manifest: dict[str, Any]) -> str:
        """Start one registration job (`ignore_errors`: one bad file does not fail the chunk). Never retried
        after a 5xx or a dropped connection: `AmbiguousWriteError` then, and the caller looks for evidence."""
        folder = self._folder(folder_uuid)
        job_id = self._write_once(
            lambda: folder.add_private_data_to_folder_start(integration_id, manifest, ignore_errors=True),
            f"start upload job in folder {folder_uuid}",
        )
        return str(job_id)

    def upload_job(self, folder_uuid: str, job_id: str, wait_seconds: int = 0) -> JobState:
        """The job's state: one poll, held by Encord up to `wait_seconds` while the job is pending."""
        folder = self._folder(folder_uuid)
        state = self._read(
            lambda: folder.add_private_data_to_folder_get_result(UUID(job_id), timeout_seconds=wait_seconds),
            f"read upload job {job_id}",
        )
        return JobState.from_sdk(state)

    # -- items and data rows ---------------------------------------------------------------------

    def folder_index(self, folder_uuid: str) -> FolderIndex:
        """Every item of the folder by URL and by name."""
        folder = self._folder(folder_uuid)
        index = FolderIndex()
        items = self._read(lambda: list(folder.list_items(page_size=LIST_PAGE)), "list folder items")
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
        dataset = self._read(lambda: self.client.get_dataset(dataset_hash), "get dataset rows")
        return {str(row.backing_item_uuid) for row in dataset.data_rows if row.backing_item_uuid}

    def link_items(self, dataset_hash: str, item_uuids: list[str]) -> int:
        """Link items into a dataset (SKIP duplicates); returns rows newly linked.

        `link_items` is non-retryable in the SDK: after an ambiguous failure the dataset's rows are read and
        only the items still missing are linked again."""
        from encord.orm.dataset import DataLinkDuplicatesBehavior

        dataset = self._read(
            lambda: self.client.get_dataset(dataset_hash, include_data_rows=False), "get dataset"
        )
        linked = 0
        for batch in _batches(item_uuids, LINK_BATCH):
            todo = batch
            for _ in range(self.retry.attempts):
                try:
                    rows = self._write_once(
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
            items = self._read(partial(self.client.get_storage_items, batch), "get storage items")
            for item in items:
                metadata = dict(item.client_metadata or {})
                metadata["encord_ingest"] = {
                    **dict(metadata.get("encord_ingest") or {}),
                    **tags[str(item.uuid)],
                }
                self._read(
                    partial(item.update, client_metadata=metadata), f"update metadata of item {item.uuid}"
                )
                changed += 1
        return changed

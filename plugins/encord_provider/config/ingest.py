"""Configuration of one ingest pipeline: a bucket prefix registered into an Encord folder and datasets.

One `IngestPipeline` per entry of `pipelines:` in the pipelines file (see `encord_provider.config.loader`).
Plain pydantic v2, no Airflow: the ingest DAG file builds one DAG per entry without doing work at parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from encord_provider.assets import ingest_asset_uri
from encord_provider.config.bucket_uri import check_bucket_uri, split_bucket_uri
from encord_provider.config.checks import (
    LOCAL_CLOUD,
    Cloud,
    ConnId,
    DataTypeName,
    HttpUrl,
    OptionalConnId,
    Regex,
    check_local_path,
)
from encord_provider.config.listing import ListingConfig
from encord_provider.config.run_controls import ApprovalConfig, DeadlineConfig
from encord_provider.config.schedule import Schedule
from encord_provider.manifests.datatypes import CONFIG_NAMES
from encord_provider.storage.s3 import REGION_PATTERN

if TYPE_CHECKING:
    from encord_provider.manifests.image_modes import ImageModeRule

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$"
DEFAULT_SCHEDULE = "0 2 * * *"  # nightly, 02:00 UTC
DATA_TYPES = CONFIG_NAMES  # the spellings of the data-type registry (manifests.datatypes.TYPES)

DataType = DataTypeName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceFilters(_Strict):
    """Which listed objects take part. Empty lists mean "no restriction"."""

    extensions: list[str] = Field(
        default_factory=list, description="Lower-case extensions to keep, e.g. ['.jpg', '.mp4']."
    )
    include: list[str] = Field(default_factory=list, description="fnmatch globs on the key; any must match.")
    exclude: list[str] = Field(default_factory=list, description="fnmatch globs on the key; none may match.")
    min_size: int = Field(0, ge=0, description="Bytes; smaller objects are skipped (0-byte markers, etc.).")
    max_size: int | None = Field(None, ge=1, description="Bytes; larger objects are skipped.")

    @field_validator("extensions")
    @classmethod
    def _normalise_extensions(cls, value: list[str]) -> list[str]:
        return [ext.lower() if ext.startswith(".") else f".{ext.lower()}" for ext in value]

    @model_validator(mode="after")
    def _check_sizes(self) -> SourceFilters:
        if self.max_size is not None and self.max_size < self.min_size:
            raise ValueError(f"max_size ({self.max_size}) is below min_size ({self.min_size})")
        return self


class SourceConfig(_Strict):
    """The bucket (or container) and prefix to onboard, or with `cloud: local` a directory on the worker
    (an NFS mount, a local disk) whose files are uploaded into Encord-hosted storage."""

    cloud: Cloud
    bucket: str = Field(min_length=1)
    path: str | None = Field(
        None, description="cloud local only: the absolute directory path on the worker (it must exist when "
        "a run starts; it is not checked when the file is parsed)."
    )  # fmt: skip
    prefix: str = ""
    conn_id: OptionalConnId = Field(
        None,
        description="Airflow connection of the bucket (its cloud's type: aws, google_cloud_platform, wasb).",
    )
    endpoint_url: HttpUrl = Field(None, description="Storage endpoint override (S3-compatible, emulators).")
    bucket_region: str | None = Field(
        None,
        pattern=REGION_PATTERN,
        description="s3 only: the region object URLs name (default: the bucket's own, from "
        "GetBucketLocation; the connection's region_name is only the client's).",
    )
    filters: SourceFilters = Field(default_factory=lambda: SourceFilters.model_validate({}))
    listing: ListingConfig = Field(
        default_factory=lambda: ListingConfig.model_validate({}), description="LIST requests or an inventory."
    )

    @model_validator(mode="before")
    @classmethod
    def _local_path_is_the_bucket(cls, data: object) -> object:
        """A local source names its directory in `path`; the store sees it as its bucket."""
        if isinstance(data, dict) and data.get("cloud") == LOCAL_CLOUD:
            data = dict(data)
            path = data.get("path")
            if not isinstance(path, str) or not path:
                if data.get("bucket") is not None:
                    raise ValueError("a local source names its directory in 'path', not 'bucket'")
                raise ValueError("a local source needs 'path': the absolute directory on the worker")
            directory = check_local_path(path)
            if data.get("bucket") not in (None, directory):  # a dumped config carries both
                raise ValueError("a local source names its directory in 'path', not 'bucket'")
            data["bucket"] = directory
        return data

    @field_validator("bucket")
    @classmethod
    def _check_bucket(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("cloud") == LOCAL_CLOUD:
            return value
        if "/" in value or "://" in value:
            raise ValueError(f"bucket {value!r} must be a bare bucket name (put the path in 'prefix')")
        return value

    @field_validator("prefix")
    @classmethod
    def _strip_prefix(cls, value: str) -> str:
        return value.lstrip("/")

    @model_validator(mode="after")
    def _check_cloud_rules(self) -> SourceConfig:
        from encord_provider.storage.bucket_names import bucket_name_problem

        problem = bucket_name_problem(self.scheme, self.bucket)
        if problem:
            raise ValueError(f"bucket: {problem}")
        if self.bucket_region and self.cloud != "s3":
            raise ValueError(f"bucket_region applies to s3 sources only, not {self.cloud!r}")
        if self.path is not None and self.cloud != LOCAL_CLOUD:
            raise ValueError(f"'path' is for local sources only; a {self.cloud} source names its 'bucket'")
        if self.cloud == LOCAL_CLOUD and (self.conn_id or self.endpoint_url):
            raise ValueError("a local source reads a directory: it takes no conn_id or endpoint_url")
        self.listing.check_cloud(self.cloud)
        return self

    @property
    def scheme(self) -> str:
        from encord_provider.storage import registry

        return registry.by_cloud(self.cloud).scheme

    @property
    def bucket_url(self) -> str:
        return f"{self.scheme}://{self.bucket}"

    @property
    def is_local(self) -> bool:
        """Files on the worker, uploaded into Encord-hosted storage (not registered from a bucket)."""
        return self.cloud == LOCAL_CLOUD


class IntegrationRef(_Strict):
    """The Encord cloud integration that grants Encord read access to the bucket: by title or uuid."""

    title: str | None = None
    uuid: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> IntegrationRef:
        if bool(self.title) == bool(self.uuid):
            raise ValueError("give exactly one of 'title' or 'uuid'")
        return self


class FolderConfig(_Strict):
    """The Index folder items are registered into; created on first run when missing."""

    name: str = Field(min_length=1, max_length=300)
    uuid: str | None = Field(None, description="Use this folder; skip the lookup by name.")
    description: str = ""


class DatasetConfig(_Strict):
    """A dataset that every newly registered item is linked into; created when missing."""

    title: str = Field(min_length=1, max_length=300)
    hash: str | None = Field(None, description="Use this dataset; skip the lookup by title.")
    description: str = ""
    attach_to_projects: list[str] = Field(
        default_factory=list, description="Project hashes the dataset is attached to (idempotent)."
    )


ImageModeName = Literal["single", "group", "sequence"]


class ImageModeRuleConfig(_Strict):
    """Images whose key matches get `mode`; exactly one of `match` (key prefix or path glob on the whole
    key, as in `filters.include`) or `regex` (searched in the key)."""

    match: str | None = Field(None, min_length=1, description="Key prefix or glob, e.g. 'raw/sequences/**'.")
    regex: str | None = Field(None, min_length=1, description="Python regex searched in the key.")
    mode: ImageModeName

    @model_validator(mode="after")
    def _check_pattern(self) -> ImageModeRuleConfig:
        if (self.match is None) == (self.regex is None):
            raise ValueError("give exactly one of 'match' or 'regex'")
        self.to_rule()  # a bad regex fails here, at config load
        return self

    def to_rule(self) -> ImageModeRule:
        from encord_provider.manifests.image_modes import ImageMode, ImageModeRule  # not at DAG parse

        if self.regex is not None:
            return ImageModeRule(self.regex, ImageMode(self.mode), regex=True)
        return ImageModeRule(self.match or "", ImageMode(self.mode))


def _default_per_type() -> dict[DataType, int]:
    return {"video": 100, "image": 1000}


class ChunkingConfig(_Strict):
    """How many manifest entries go into one registration chunk (one upload job)."""

    max_entries: int = Field(
        1000, ge=1, le=10_000, description="Entries per chunk (best practice: <= 10,000)."
    )
    per_type: dict[DataType, int] = Field(
        default_factory=lambda: _default_per_type(),
        description="Stricter per-type limits, e.g. {video: 100, image: 1000}.",
    )
    image_mode: ImageModeName = Field(
        "single",
        description="Images one entry each, or per folder as image groups / image sequences "
        "(sequences need bucket write access); applies to images no `image_modes` rule matches.",
    )
    image_modes: list[ImageModeRuleConfig] = Field(
        default_factory=list,
        description="Ordered per-key image modes, first match wins, e.g. "
        "[{match: 'incoming/sequences/**', mode: sequence}].",
    )
    group_regex: Regex = Field(
        None, description="Regex whose group 1 (or named group `group`) is the group id; default: the folder."
    )

    @field_validator("per_type")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {kind: count for kind, count in value.items() if count < 1}
        if bad:
            raise ValueError(f"per_type counts must be >= 1, got {bad}")
        return value


class StagingConfig(_Strict):
    """Where manifests, run reports and the ledger live: a bucket URI with an optional base path."""

    uri: str = Field(description="s3://bucket/path, gs://bucket/path or az://container/path")
    conn_id: OptionalConnId = None
    endpoint_url: HttpUrl = None

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        return check_bucket_uri(value, "staging", "staging")

    @property
    def scheme(self) -> str:
        return split_bucket_uri(self.uri)[0]

    @property
    def bucket(self) -> str:
        return split_bucket_uri(self.uri)[1]

    @property
    def base_path(self) -> str:
        return split_bucket_uri(self.uri)[2].strip("/")


class TriggerConfig(_Strict):
    """How runs start besides the cron schedule: S3 event notifications via SQS, or bucket polling."""

    mode: Literal["schedule", "s3_events", "polling"] = "schedule"
    sqs_queue_url: HttpUrl = Field(
        None, description="Queue receiving the bucket's s3:ObjectCreated:* events."
    )
    aws_conn_id: OptionalConnId = Field(
        None, description="Connection for SQS; defaults to the source conn_id."
    )
    poll_interval_seconds: float = Field(60.0, ge=0.1, description="SQS wait / bucket polling interval.")

    @model_validator(mode="after")
    def _check_mode(self) -> TriggerConfig:
        if self.mode == "s3_events" and not self.sqs_queue_url:
            raise ValueError("mode 's3_events' needs 'sqs_queue_url'")
        if self.mode != "s3_events" and self.sqs_queue_url:
            raise ValueError(f"'sqs_queue_url' is only used with mode 's3_events' (mode is {self.mode!r})")
        return self


class LedgerConfig(_Strict):
    """Retry policy, compaction and watermark lag of the per-pipeline ledger."""

    max_attempts: int = Field(3, ge=1, description="Encord unit errors before an object is marked rejected.")
    compaction_grace_seconds: float = Field(
        120.0,
        ge=0,
        description="Superseded ledger files are deleted only this long (by the store's clock) after the "
        "snapshot that replaced them, so readers in flight rarely have to start again.",
    )
    watermark_lag_seconds: float = Field(
        900.0,
        ge=0,
        description="Watermark-bounded listings (the polling trigger) also keep objects modified up to this "
        "long before the watermark: same-second writes, replication, multipart completion.",
    )


MAX_MAP_LENGTH = 1024  # Airflow's default [core] max_map_length: no `.expand` may exceed it


class ShardsConfig(_Strict):
    """How the pipeline's key space is split into shards (docs/ingestion.md, "Shards").

    Each shard is planned, registered and linked by its own mapped tasks and has its own ledger. At most
    one of `hash`, `prefixes` and `derive` is set; none = one implicit shard (the whole prefix).
    """

    hash: int | None = Field(
        None, ge=1, le=MAX_MAP_LENGTH, description="Split keys into this many equal ranges of a stable hash "
        "of the key. Every shard lists the whole prefix (prefer `prefixes` or `derive` for huge buckets)."
    )  # fmt: skip
    hash_by: Literal["folder", "key"] = Field(
        "folder", description="With `hash`: what is hashed. `folder` (the key up to its last `/`) keeps "
        "image groups, sequences and DICOM series, which are built per folder, inside one shard; `key` "
        "spreads a flat bucket evenly but must not be used with grouped data."
    )  # fmt: skip
    prefixes: list[str] | None = Field(
        None, min_length=1, description="Key prefixes (relative to source.prefix), one shard each, e.g. "
        "`dt=2026-01-01/`. Keys under none of them belong to no shard (they are not ingested)."
    )  # fmt: skip
    derive: Literal["first_level"] | None = Field(
        None, description="One shard per sub-prefix at the first `/` level under source.prefix, found when a "
        "run starts, plus one for objects directly under it."
    )  # fmt: skip
    match: str | None = Field(
        None, description="With `derive`: only sub-prefixes matching this glob (e.g. `dt=*/`) get their own "
        "shard; the others are not ingested."
    )  # fmt: skip
    max_register_tasks: int = Field(
        MAX_MAP_LENGTH, ge=1, le=MAX_MAP_LENGTH, description="Mapped register tasks per run at most; chunks "
        "are batched several to a task to stay under it (Airflow's max_map_length is 1,024)."
    )  # fmt: skip
    min_entries_per_register_task: int = Field(
        0, ge=0, description="Batch small chunks until a register task has at least this many manifest "
        "entries, so tasks do not each pay start-up for a few objects. 0 = one chunk per task when allowed."
    )  # fmt: skip

    @model_validator(mode="after")
    def _one_kind(self) -> ShardsConfig:
        kinds = [name for name in ("hash", "prefixes", "derive") if getattr(self, name) is not None]
        if len(kinds) > 1:
            raise ValueError(f"set one of hash, prefixes and derive, not {' and '.join(kinds)}")
        if self.match is not None and self.derive is None:
            raise ValueError("'match' is only used with 'derive'")
        if self.prefixes is not None:
            if len(set(self.prefixes)) != len(self.prefixes):
                raise ValueError("'prefixes' lists a prefix twice")
            nested = [(a, b) for a in self.prefixes for b in self.prefixes if a != b and b.startswith(a)]
            if nested:
                raise ValueError(
                    f"prefix {nested[0][1]!r} lies inside {nested[0][0]!r}: shards must not overlap"
                )
        return self

    @property
    def kind(self) -> str:
        return "hash" if self.hash else "prefixes" if self.prefixes else "derive" if self.derive else "single"


class RegistrationConfig(_Strict):
    """How register tasks wait on upload jobs, and how long a job whose id was lost is given to show up."""

    sync_wait_seconds: int = Field(
        5, ge=0, le=60, description="Wait this long on a new job in the worker before deferring (short jobs "
        "then finish without a deferral)."
    )  # fmt: skip
    first_poll_seconds: float = Field(
        3.0, ge=2.5, le=300, description="The trigger's first poll after deferring; at least 2.5 s, because "
        "Airflow 3.3 can kill a task whose trigger fires within ~2 s of deferring (apache/airflow#71580)."
    )  # fmt: skip
    unknown_job_settle_minutes: float = Field(
        10.0, gt=0, description="A job whose start answered 5xx (or whose id a crash lost) is watched through "
        "the folder's items; once the folder gained none of the chunk's entries for this long, the missing "
        "ones are sent in a new job. Keep it above the longest pause of your upload jobs."
    )  # fmt: skip


class LeaseConfig(_Strict):
    """One run per pipeline at a time: a lease object in the staging bucket, taken with conditional writes."""

    ttl_minutes: float = Field(
        60.0, gt=0, description="A lease not renewed for this long (the run crashed) can be taken over."
    )
    wait_minutes: float = Field(
        15.0, ge=0, description="How long a run waits for another run's lease before it fails (and retries)."
    )


class BucketChangesConfig(_Strict):
    """What a run does about objects changed in the bucket after they were registered. Always reported."""

    overwritten: Literal["report", "update_metadata"] = Field(
        "report", description="Registered objects whose ETag changed: report only, or also write the new ETag, "
        "size and time into the item's client metadata (`encord_ingest.source`); the item, its links and "
        "labels stay."
    )  # fmt: skip
    deleted: Literal["report", "archive"] = Field(
        "report", description="Registered objects gone from the bucket: report only, or also tag the item's "
        "client metadata `encord_ingest.deleted_from_bucket` (it stays in the folder and datasets)."
    )  # fmt: skip


class IngestPipeline(_Strict):
    """One bucket prefix onboarded into one Encord folder and linked into datasets."""

    name: str = Field(pattern=NAME_PATTERN, description="Used in DAG ids: encord_ingest__<name>.")
    source: SourceConfig
    encord_conn_id: ConnId = "encord_default"
    integration: IntegrationRef | None = Field(
        None, description="Required for bucket sources; a local source uploads to Encord and takes none."
    )
    folder: FolderConfig
    datasets: list[DatasetConfig] = Field(default_factory=list)
    schedule: Schedule = Field(DEFAULT_SCHEDULE, description="Cron / preset; null = manual or events only.")
    chunking: ChunkingConfig = Field(default_factory=lambda: ChunkingConfig.model_validate({}))
    staging: StagingConfig
    trigger: TriggerConfig = Field(default_factory=lambda: TriggerConfig.model_validate({}))
    ledger: LedgerConfig = Field(default_factory=lambda: LedgerConfig.model_validate({}))
    shards: ShardsConfig = Field(default_factory=lambda: ShardsConfig.model_validate({}))
    upload_poll_seconds: float = Field(
        2.0, ge=0.1, le=300, description="Trigger poll period while an upload job runs."
    )
    upload_timeout_minutes: float = Field(
        180.0, gt=0, description="Give up waiting on one upload job after this."
    )
    registration: RegistrationConfig = Field(default_factory=lambda: RegistrationConfig.model_validate({}))
    lease: LeaseConfig = Field(default_factory=lambda: LeaseConfig.model_validate({}))
    bucket_changes: BucketChangesConfig = Field(
        default_factory=lambda: BucketChangesConfig.model_validate({})
    )
    owner: str = Field("encord-ingest", min_length=1, description="Airflow owner of the ingest tasks.")
    task_retries: int = Field(2, ge=0, le=20, description="Airflow retries of each ingest task.")
    retry_delay_seconds: float = Field(60.0, ge=0, description="Wait between Airflow task retries.")
    tags: list[str] = Field(default_factory=list)
    deadline: DeadlineConfig | None = Field(None, description="Alert when a run is not done in time (SLA).")
    approval: ApprovalConfig | None = Field(
        None, description="Ask a person before a big registration or before archiving deletions."
    )

    @field_validator("datasets", mode="before")
    @classmethod
    def _dataset_shorthand(cls, value: object) -> object:
        """`datasets: [My dataset]` is short for `datasets: [{title: My dataset}]`."""
        if isinstance(value, list):
            return [{"title": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _check_trigger_cloud(self) -> IngestPipeline:
        if self.trigger.mode == "s3_events" and self.source.cloud != "s3":
            raise ValueError(f"trigger mode 's3_events' needs an s3 source, not {self.source.cloud!r}")
        return self

    @model_validator(mode="after")
    def _check_integration(self) -> IngestPipeline:
        if self.source.is_local and self.integration is not None:
            raise ValueError(
                "a local source uploads its files into Encord-hosted storage: remove 'integration'"
            )
        if not self.source.is_local and self.integration is None:
            raise ValueError(f"'integration' is required: it lets Encord read the {self.source.cloud} bucket")
        return self

    @field_validator("approval")
    @classmethod
    def _check_deletion_approval(
        cls, value: ApprovalConfig | None, info: ValidationInfo
    ) -> ApprovalConfig | None:
        changes = info.data.get("bucket_changes")  # (declared before `approval`, so validated first)
        if value and value.above_deletions is not None and changes and changes.deleted != "archive":
            raise ValueError("above_deletions asks before archiving deletions, but bucket_changes.deleted is "
                             f"{changes.deleted!r}: set it to 'archive' or drop above_deletions")  # fmt: skip
        return value

    @property
    def dag_id(self) -> str:
        return f"encord_ingest__{self.name}"

    @property
    def asset_uri(self) -> str:
        return ingest_asset_uri(self.name)

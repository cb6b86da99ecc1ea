"""Configuration of one Encord workflow project: its agent stages and its versioned label export.

One `ProjectPipeline` per entry of `projects:` in the pipelines file (see `encord_provider.config.loader`).
Plain pydantic v2, no Airflow: DAG files build one DAG per entry without doing any work at parse time.
"""

from __future__ import annotations

import re
from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from encord_provider.assets import ingest_asset_uri
from encord_provider.config.bucket_uri import check_bucket_uri, split_bucket_uri
from encord_provider.config.checks import ConnId, HttpUrl, OptionalConnId
from encord_provider.config.ontology import OnDrift, WorkflowTemplateConfig, is_uuid
from encord_provider.config.run_controls import DeadlineConfig
from encord_provider.config.schedule import Schedule
from encord_provider.exports.model import CocoOptions, DataUnits, LabelStatusName

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$"
_AGENT_PATH = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")
ExportFormat = Literal["json", "coco", "parquet", "csv"]
DEFAULT_FORMATS: tuple[ExportFormat, ...] = ("json", "coco", "parquet")


def _as_list(value: object) -> object:
    """Accept a single string where a list of strings is expected (`stage: Review` == `stages: [Review]`)."""
    return [value] if isinstance(value, str) else value


class AgentStageConfig(BaseModel):
    """One agent function (or encord-agents Runner) draining one or more AGENT stages."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    stages: list[str] = Field(
        default_factory=list,
        alias="stage",
        description="Workflow stage title(s) or uuid(s). Empty = every stage the Runner registered.",
    )
    agent: str = Field(
        description="`pkg.module:attr` (or `pkg.module.attr`): an encord_agents Runner or a callable "
        "`(task, label_row) -> pathway name | None`; `pkg.module:__main__` runs the module as a script "
        "(e.g. the Encord guide's agent scripts), which then needs `stage`."
    )
    max_tasks_per_run: int = Field(1000, ge=1, le=1_000_000)
    bundle_size: int = Field(
        100, ge=1, le=1000, description="Label-row reads/saves and task moves per request."
    )
    include_signed_url: bool = Field(
        False, description="Ask for signed data links when initialising label rows."
    )

    @field_validator("stages", mode="before")
    @classmethod
    def _normalise_stages(cls, value: object) -> object:
        return _as_list(value)

    @field_validator("stages")
    @classmethod
    def _check_stages(cls, value: list[str]) -> list[str]:
        if any(not stage.strip() for stage in value):
            raise ValueError("stage titles/uuids must not be empty; omit 'stage' to drain every Runner stage")
        return value

    @field_validator("agent")
    @classmethod
    def _check_agent_path(cls, value: str) -> str:
        if not _AGENT_PATH.match(value):
            raise ValueError(f"agent {value!r} is not an import path like 'package.module:runner'")
        return value

    @model_validator(mode="after")
    def _check_script_stages(self) -> AgentStageConfig:
        if self.agent.endswith(":__main__") and not self.stages:
            raise ValueError(
                f"agent {self.agent!r} runs a script: name the stage(s) it drains with 'stage', so the run "
                "can report what it moved"
            )
        return self


class ExportConfig(BaseModel):
    """Versioned label export to a warehouse bucket."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(
        description="Warehouse bucket, optionally with a base path: s3://b/p, gs://b, az://container"
    )
    conn_id: OptionalConnId = Field(
        None, description="Airflow connection of the warehouse bucket (aws/gcp/wasb)."
    )
    endpoint_url: HttpUrl = Field(
        None, description="Override the storage endpoint (S3-compatible, emulators)."
    )
    prefix: str = Field(
        "encord-labels", description="Key prefix under the bucket (after the URI's own path)."
    )
    schedule: Schedule = Field("@daily", description="Cron / preset of the export DAG; null = manual only.")
    stage: str | None = Field(None, description="Only label rows currently in this workflow stage.")
    include_object_feature_hashes: list[str] | None = None
    include_classification_feature_hashes: list[str] | None = None
    signed_urls: bool = False
    label_statuses: list[LabelStatusName] | None = Field(
        None,
        description="The Legacy export dialog's label statuses (NOT_LABELLED, LABEL_IN_PROGRESS, LABELLED, "
        "REVIEW_IN_PROGRESS, REVIEWED, REVIEWED_TWICE); null = every status.",
    )
    data_units: DataUnits = Field(
        "labelled", description="'labelled' = only data units with labels; 'all' = every data unit."
    )
    version_name_template: str = Field(
        "v{number:05d}_{created_at:%Y%m%dT%H%M%SZ}",
        description="str.format template; fields: number (int), created_at (datetime), kind (full|incremental), "
        "project (name).",
    )
    full_snapshot_every: int = Field(10, ge=1, description="Every Nth version is a full snapshot.")
    formats: list[ExportFormat] = Field(default_factory=lambda: list(DEFAULT_FORMATS))
    coco: CocoOptions = Field(
        default_factory=lambda: CocoOptions(), description="How coco.json writes points, skeletons and masks."
    )
    bundle_size: int = Field(500, ge=1, le=1000, description="Label rows initialised per request.")
    fetch_workers: int = Field(
        2, ge=1, le=16, description="Pages of label rows fetched at once (each holds one bundle in memory)."
    )
    rows_per_file: int = Field(50_000, ge=1, description="Encord JSON rows per labels-NNNNN.jsonl chunk.")
    deadline: DeadlineConfig | None = Field(
        None,
        description="Alert when an export run is not done in time (the same `deadline:` as a pipeline's).",
    )

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        return check_bucket_uri(value, "export", "export")

    @field_validator("prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        segments = value.strip("/").split("/") if value.strip("/") else []
        if any(segment in ("", ".", "..") for segment in segments):
            raise ValueError(f"export prefix {value!r} must not have empty, '.' or '..' segments")
        return value

    @field_validator("label_statuses")
    @classmethod
    def _check_label_statuses(cls, value: list[LabelStatusName] | None) -> list[LabelStatusName] | None:
        if value is not None and not value:
            raise ValueError("label_statuses must name at least one status; omit it to export every status")
        return list(dict.fromkeys(value)) if value else value

    @model_validator(mode="after")
    def _check_not_labelled(self) -> ExportConfig:
        if self.label_statuses and "NOT_LABELLED" in self.label_statuses and self.data_units != "all":
            raise ValueError(
                "label_statuses includes NOT_LABELLED, whose data units have no labels: set data_units: all"
            )
        return self

    @field_validator("formats")
    @classmethod
    def _check_formats(cls, value: list[ExportFormat]) -> list[ExportFormat]:
        if not value:
            raise ValueError("export formats must name at least one of json, coco, parquet, csv")
        return list(dict.fromkeys(value))

    @field_validator("version_name_template")
    @classmethod
    def _check_template(cls, value: str) -> str:
        from datetime import UTC, datetime

        try:
            fields = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
            name = value.format(number=1, created_at=datetime.now(UTC), kind="full", project="p")
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as err:
            raise ValueError(f"version_name_template {value!r} is invalid: {err!r}") from err
        if not any(re.match(r"number\b", field) for field in fields):
            # Without the number two versions can get the same folder and the second would overwrite the first.
            raise ValueError(
                f"version_name_template {value!r} must use {{number}} so every version gets its own folder"
            )
        if not name or "/" in name or name in {"latest", ".", ".."}:
            raise ValueError(f"version_name_template {value!r} yields an unusable folder name {name!r}")
        return value

    @property
    def bucket_url(self) -> str:
        """`scheme://bucket` without any path."""
        scheme, bucket, _ = split_bucket_uri(self.uri)
        return f"{scheme}://{bucket}"

    @property
    def base_prefix(self) -> str:
        """The URI's own path joined with `prefix`, without leading/trailing slashes."""
        path = split_bucket_uri(self.uri)[2]
        return "/".join(part.strip("/") for part in (path, self.prefix) if part.strip("/"))


class WorkflowRef(BaseModel):
    """The workflow a created project gets, and the stages a found project must have."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(
        None,
        description="A `workflow_templates` title or a template hash (uuid); null = Encord's default workflow.",
    )
    stages: list[str] | None = Field(
        None, description="Stage titles the project must have (default: the template's `stages`)."
    )


class BootstrapConfig(BaseModel):
    """The project is found by title in Encord, or created with its ontology, datasets and workflow.
    What differs from this entry on a found project is reported (or fails the task), never changed."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str = ""
    ontology: str = Field(
        min_length=1,
        description="Title of an `ontologies` entry (created if missing) or of an Encord ontology.",
    )
    datasets: list[str] = Field(default_factory=list, description="Dataset titles; created when missing.")
    workflow: WorkflowRef = Field(default_factory=lambda: WorkflowRef(template=None, stages=None))
    on_drift: OnDrift = Field("report", description="'report' logs drift and goes on; 'fail' fails the task.")

    @field_validator("workflow", mode="before")
    @classmethod
    def _template_shorthand(cls, value: object) -> object:
        return {"template": value} if isinstance(value, str) else value

    @field_validator("datasets")
    @classmethod
    def _unique_datasets(cls, value: list[str]) -> list[str]:
        if any(not title.strip() for title in value):
            raise ValueError("dataset titles must not be empty")
        return list(dict.fromkeys(value))


class ProjectPipeline(BaseModel):
    """Agent stages and label export of one Encord workflow project."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=NAME_PATTERN, description="Used in DAG ids: encord_agents__<name>, encord_export__<name>."
    )
    encord_conn_id: ConnId = "encord_default"
    project_hash: str | None = Field(
        None, min_length=1, description="The Encord project; optional with `bootstrap` (found by its title)."
    )
    bootstrap: BootstrapConfig | None = Field(
        None, description="Find the project by title or create it (a `bootstrap` task starts its DAGs)."
    )
    agents: list[AgentStageConfig] = Field(default_factory=list)
    agents_schedule: Schedule = Field(
        None, description="Cron for the agent DAG when it is not triggered by an ingest pipeline."
    )
    agents_deadline: DeadlineConfig | None = Field(
        None,
        description="Alert when an agents run is not done in time (the same `deadline:` as a pipeline's).",
    )
    export: ExportConfig | None = None
    triggered_by_ingest: str | None = Field(
        None,
        description="Ingest pipeline name; the agent DAG is scheduled on Asset encord://<name>/ingested.",
    )
    tags: list[str] = Field(default_factory=list)
    owner: str = Field("encord-projects", min_length=1, description="Airflow owner of the project's tasks.")
    task_retries: int = Field(2, ge=0, le=20, description="Airflow retries of each agents/export task.")
    retry_delay_seconds: float = Field(60.0, ge=0, description="Wait between Airflow task retries.")

    @model_validator(mode="after")
    def _check_schedule_choice(self) -> ProjectPipeline:
        if self.project_hash is None and self.bootstrap is None:
            raise ValueError(
                f"project {self.name!r}: give 'project_hash', or 'bootstrap' to find or create it"
            )
        if self.triggered_by_ingest and self.agents_schedule:
            raise ValueError(
                f"project {self.name!r}: set either triggered_by_ingest or agents_schedule, not both"
            )
        if (self.triggered_by_ingest or self.agents_schedule or self.agents_deadline) and not self.agents:
            raise ValueError(f"project {self.name!r}: triggered_by_ingest/agents_schedule/agents_deadline need "
                             "at least one 'agents' entry")  # fmt: skip
        if not self.agents and self.export is None:
            raise ValueError(f"project {self.name!r}: give 'agents', 'export' or both; it defines no DAG")
        return self

    @property
    def ingest_asset_uri(self) -> str | None:
        return ingest_asset_uri(self.triggered_by_ingest) if self.triggered_by_ingest else None


def bootstrap_reference_problems(
    projects: list[ProjectPipeline], templates: list[WorkflowTemplateConfig]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Template titles no `workflow_templates` entry declares, and agent stages the template lacks."""
    by_title = {template.title: template for template in templates}
    by_hash = {template.hash: template for template in templates}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for position, project in enumerate(projects):
        if project.bootstrap is None:
            continue
        ref = project.bootstrap.workflow.template
        where: tuple[str | int, ...] = ("projects", position, "bootstrap", "workflow")
        if ref and not is_uuid(ref) and ref not in by_title:
            problems.append((where, f"no workflow_templates entry titled {ref!r}; known: {sorted(by_title)}"))
            continue
        template = (by_title.get(ref) or by_hash.get(ref.lower())) if ref else None
        stages = project.bootstrap.workflow.stages or (template.stages if template else None)
        for index, agent in enumerate(project.agents):
            missing = [stage for stage in agent.stages if stages is not None and stage not in stages]
            if missing:
                problems.append(
                    (("projects", position, "agents", index),
                     f"stages {missing} are not in the project's workflow stages {stages}")
                )  # fmt: skip
    return problems

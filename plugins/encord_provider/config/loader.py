"""Read and validate the pipelines file (include/pipelines.yaml by default; ENCORD_PIPELINES_FILE overrides).

Every error names the file, the field path and, when known, the YAML line:
`include/pipelines.yaml:7: pipelines[0].source.bucket: Field required`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from encord_provider.config.ingest import IngestPipeline
from encord_provider.config.ontology import OntologyConfig, WorkflowTemplateConfig
from encord_provider.config.projects import ProjectPipeline, bootstrap_reference_problems
from encord_provider.errors import PermanentError

log = logging.getLogger(__name__)
PIPELINES_FILE_ENV = "ENCORD_PIPELINES_FILE"
DEFAULT_RELATIVE_PATH = Path("include") / "pipelines.yaml"
PathKey = tuple[str | int, ...]


class PipelinesConfigError(PermanentError, ValueError):
    """The pipelines file is missing, not YAML, or does not validate. The message lists every problem."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}{problem}" for problem in problems))


class PipelinesFile(BaseModel):
    """The whole pipelines file."""

    model_config = ConfigDict(extra="forbid")

    pipelines: list[IngestPipeline] = Field(default_factory=list)
    projects: list[ProjectPipeline] = Field(default_factory=list)
    ontologies: list[OntologyConfig] = Field(default_factory=list)
    workflow_templates: list[WorkflowTemplateConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> PipelinesFile:
        for section, names in (
            ("pipelines", [p.name for p in self.pipelines]),
            ("projects", [p.name for p in self.projects]),
            ("ontologies", [o.title for o in self.ontologies]),
            ("workflow_templates", [t.title for t in self.workflow_templates]),
        ):
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"{section}: duplicate names {duplicates}")
        return self

    def reference_problems(self) -> list[tuple[PathKey, str]]:
        """Names one entry uses to point at another that do not resolve in this file, and outputs
        (staging, exports) that an ingest pipeline would list as new source objects."""
        known = [p.name for p in self.pipelines]
        problems: list[tuple[PathKey, str]] = [
            (
                ("projects", position, "triggered_by_ingest"),
                f"no ingest pipeline named {project.triggered_by_ingest!r} in this file; known: {known}",
            )
            for position, project in enumerate(self.projects)
            if project.triggered_by_ingest and project.triggered_by_ingest not in known
        ]
        problems += bootstrap_reference_problems(self.projects, self.workflow_templates)
        outputs: list[tuple[PathKey, str, str]] = [
            (("pipelines", i, "staging", "uri"), f"staging of {p.name!r}", p.staging.uri)
            for i, p in enumerate(self.pipelines)
        ]
        outputs += [
            (
                ("projects", i, "export", "uri"),
                f"export of {p.name!r}",
                f"{p.export.bucket_url}/{p.export.base_prefix}",
            )
            for i, p in enumerate(self.projects)
            if p.export is not None
        ]
        for where, what, uri in outputs:
            for pipeline in self.pipelines:
                if _inside(uri, pipeline.source.bucket_url, pipeline.source.prefix):
                    problems.append(
                        (where, f"{what} ({uri}) is inside the source prefix of pipeline {pipeline.name!r}: "
                         "its files would be listed and registered")
                    )  # fmt: skip
        return problems

    def sharing_warnings(self) -> list[tuple[PathKey, str]]:
        """Entries that share what each should own: an Index folder, a staging prefix, a source prefix
        (the same objects registered twice), a warehouse prefix. Legal, but almost always a mistake."""
        warnings: list[tuple[PathKey, str]] = []
        seen: dict[str, list[tuple[str, str]]] = {"folder": [], "staging": [], "source": [], "export": []}

        def check(kind: str, where: PathKey, owner: str, location: str, nested: bool, what: str) -> None:
            for other_owner, other in seen[kind]:
                same = location == other
                inside = nested and (location.startswith(other + "/") or other.startswith(location + "/"))
                if same or inside:
                    how = "the same" if same else "an overlapping"
                    warnings.append((where, f"{owner!r} and {other_owner!r} use {how} {what} {location!r}"))
            seen[kind].append((owner, location))

        for position, pipeline in enumerate(self.pipelines):
            here: PathKey = ("pipelines", position)
            folder = f"uuid {pipeline.folder.uuid}" if pipeline.folder.uuid else pipeline.folder.name
            check("folder", (*here, "folder"), pipeline.name, folder, False, "Encord folder")
            staging = pipeline.staging.uri.rstrip("/")
            check("staging", (*here, "staging"), pipeline.name, staging, True, "staging prefix")
            source = f"{pipeline.source.bucket_url}/{pipeline.source.prefix}".rstrip("/")
            check("source", (*here, "source"), pipeline.name, source, True, "source prefix")
        for position, project in enumerate(self.projects):
            if project.export is not None:
                target = f"{project.export.bucket_url}/{project.export.base_prefix}".rstrip("/")
                check("export", ("projects", position, "export"), project.name, target, True, "export prefix")
        return warnings

    def pipeline(self, name: str) -> IngestPipeline:
        for pipeline in self.pipelines:
            if pipeline.name == name:
                return pipeline
        raise KeyError(f"no ingest pipeline named {name!r}; known: {[p.name for p in self.pipelines]}")


def _inside(uri: str, bucket_url: str, prefix: str) -> bool:
    """Whether keys under `uri` (scheme://bucket/path) are listed by `bucket_url` + key `prefix`."""
    if not uri.startswith(bucket_url + "/") and uri != bucket_url:
        return False
    path = uri[len(bucket_url) :].strip("/")
    return (path + "/").startswith(prefix)


def default_pipelines_path(project_root: Path | None = None) -> Path:
    """ENCORD_PIPELINES_FILE, else <project root>/include/pipelines.yaml. The project root is the folder
    holding Airflow's dags folder (`dags/` and `include/` side by side), never where this package is
    installed."""
    override = os.environ.get(PIPELINES_FILE_ENV)
    if override:
        return Path(override)
    return (project_root or _airflow_project_root()) / DEFAULT_RELATIVE_PATH


def _airflow_project_root() -> Path:
    """The parent of `[core] dags_folder` (AIRFLOW__CORE__DAGS_FOLDER); the working directory without Airflow."""
    dags_folder = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    if not dags_folder:
        try:
            from airflow.configuration import conf
        except ImportError:
            return Path.cwd()
        dags_folder = conf.get("core", "dags_folder")
    return Path(dags_folder).expanduser().resolve().parent


def _line_index(
    node: yaml.Node, path: PathKey = (), index: dict[PathKey, int] | None = None
) -> dict[PathKey, int]:
    """Map every field path in the YAML document to its 1-based line number."""
    index = {} if index is None else index
    index[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            index[(*path, key_node.value)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key_node.value), index)
            index[(*path, key_node.value)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _line_index(item, (*path, position), index)
    return index


def _format_location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _nearest_line(loc: tuple[Any, ...], lines: dict[PathKey, int]) -> int | None:
    path: PathKey = tuple(part for part in loc if isinstance(part, str | int))
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _problem(loc: tuple[Any, ...], message: str, lines: dict[PathKey, int]) -> str:
    line = _nearest_line(loc, lines)
    where = f":{line}" if line else ""
    return f"{where}: {_format_location(loc)}: {message}"


def _problems(err: ValidationError, lines: dict[PathKey, int]) -> list[str]:
    problems = []
    for item in err.errors(include_url=False):
        # Drop pydantic's union/function tags (e.g. 'function-after[...]') that are not field names.
        loc = tuple(part for part in item["loc"] if isinstance(part, int) or "[" not in str(part))
        problems.append(_problem(loc, item["msg"].removeprefix("Value error, "), lines))
    return problems


# Every DAG file parses the pipelines file: libyaml's loader when PyYAML has it (10x the pure-Python one).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _lines(text: str) -> dict[PathKey, int]:
    """Line numbers of every field path; composed only when there is an error to place."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    return _line_index(node) if node is not None else {}


def parse_pipelines(text: str, source: Path | str = "<string>") -> PipelinesFile:
    """Validate YAML text. Raises PipelinesConfigError naming `source`, the field path and the line."""
    try:
        raw = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as err:
        raise PipelinesConfigError(source, [f": not valid YAML: {err}"]) from err
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PipelinesConfigError(
            source, [": top level must be a mapping with 'pipelines' and/or 'projects'"]
        )
    try:
        parsed = PipelinesFile.model_validate(raw)
    except ValidationError as err:
        raise PipelinesConfigError(source, _problems(err, _lines(text))) from None
    references = parsed.reference_problems()
    if references:
        lines = _lines(text)
        raise PipelinesConfigError(source, [_problem(loc, message, lines) for loc, message in references])
    warnings = parsed.sharing_warnings()
    if warnings:
        lines = _lines(text)
        for loc, message in warnings:
            log.warning("%s%s", source, _problem(loc, message, lines))
    if not parsed.pipelines and not parsed.projects:
        log.warning("%s: defines no pipelines and no projects, so no Encord DAG is created", source)
    return parsed


def load_pipelines(path: Path | str | None = None) -> PipelinesFile:
    """Read and validate the pipelines file (default: see `default_pipelines_path`)."""
    file_path = Path(path) if path is not None else default_pipelines_path()
    try:
        text = file_path.read_text(encoding="utf-8")
    except OSError as err:
        raise PipelinesConfigError(file_path, [f": cannot read: {err.strerror or err}"]) from err
    return parse_pipelines(text, _display_path(file_path))


def _display_path(path: Path) -> str:
    """Relative to the working directory when possible: `include/pipelines.yaml`."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)

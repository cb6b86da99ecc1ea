"""Read and validate the pipelines file (include/pipelines.yaml by default; ENCORD_PIPELINES_FILE overrides).

Every error names the file, the field path and, when known, the YAML line:
`include/pipelines.yaml:7: pipelines[0].source.bucket: Field required`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from encord_provider.config.ingest import IngestPipeline
from encord_provider.config.projects import ProjectPipeline

PIPELINES_FILE_ENV = "ENCORD_PIPELINES_FILE"
DEFAULT_RELATIVE_PATH = Path("include") / "pipelines.yaml"
PathKey = tuple[str | int, ...]


class PipelinesConfigError(ValueError):
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

    @model_validator(mode="after")
    def _unique_names(self) -> PipelinesFile:
        for section, names in (
            ("pipelines", [p.name for p in self.pipelines]),
            ("projects", [p.name for p in self.projects]),
        ):
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"{section}: duplicate names {duplicates}")
        return self

    def reference_problems(self) -> list[tuple[PathKey, str]]:
        """Names one entry uses to point at another that do not resolve in this file."""
        known = [p.name for p in self.pipelines]
        return [
            (
                ("projects", position, "triggered_by_ingest"),
                f"no ingest pipeline named {project.triggered_by_ingest!r} in this file; known: {known}",
            )
            for position, project in enumerate(self.projects)
            if project.triggered_by_ingest and project.triggered_by_ingest not in known
        ]

    def pipeline(self, name: str) -> IngestPipeline:
        for pipeline in self.pipelines:
            if pipeline.name == name:
                return pipeline
        raise KeyError(f"no ingest pipeline named {name!r}; known: {[p.name for p in self.pipelines]}")


def default_pipelines_path(project_root: Path | None = None) -> Path:
    """ENCORD_PIPELINES_FILE, else <project root>/include/pipelines.yaml."""
    override = os.environ.get(PIPELINES_FILE_ENV)
    if override:
        return Path(override)
    root = project_root or Path(__file__).resolve().parents[3]
    return root / DEFAULT_RELATIVE_PATH


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

"""Find or create a project's ontology, datasets and project in Encord; report drift, never change it.

`plan_for` resolves one `projects:` entry against the pipelines file (its ontology, workflow template
and agent stages); `bootstrap_project` makes the calls through the gateway. A second run with the same
config creates nothing: everything is found by title. A found thing that differs from the config
(structure, datasets, workflow, a title used twice) is a `Drift` in the report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from encord_provider.config.ingest import DatasetConfig
from encord_provider.config.loader import PipelinesFile
from encord_provider.config.ontology import OntologyConfig, WorkflowTemplateConfig, is_uuid
from encord_provider.config.projects import BootstrapConfig, ProjectPipeline
from encord_provider.errors import PermanentError, TransientError
from encord_provider.ingest.errors import EncordTargetError
from encord_provider.projects.drift import BootstrapDriftError, BootstrapReport, Drift, outline_drift
from encord_provider.projects.structure import build_structure, config_outline, outline

log = logging.getLogger(__name__)
MAX_STRUCTURE_LINES = 50


class BootstrapError(PermanentError, ValueError):
    """Something the project needs is neither declared in the file nor in Encord."""


class NotBootstrappedError(TransientError, LookupError):
    """A find-only bootstrap met something the creating DAG has not created yet (retried later)."""


class SetupApi(Protocol):
    """The gateway calls bootstrap makes (`EncordApi`)."""

    def ontologies_titled(self, title: str) -> list[Any]: ...
    def create_ontology(self, title: str, description: str, structure: Any) -> Any: ...
    def dataset_by_title(self, title: str) -> str | None: ...
    def create_dataset(self, config: DatasetConfig) -> str: ...
    def projects_titled(self, title: str) -> list[Any]: ...
    def create_project(
        self, title: str, *, description: str, dataset_hashes: list[str], ontology_hash: str,
        template_hash: str | None,
    ) -> str: ...  # fmt: skip
    def project_by_hash(self, project_hash: str) -> Any: ...
    def project_datasets(self, project: Any) -> dict[str, str]: ...
    def project_stages(self, project: Any) -> list[str] | None: ...


@dataclass(frozen=True)
class BootstrapPlan:
    """One project entry with what it refers to resolved from the pipelines file."""

    entry: BootstrapConfig
    ontology: OntologyConfig | None  # None: not declared, must exist in Encord
    template_hash: str | None
    stages: list[str] | None  # the stage titles the project must have, when known
    agent_stages: list[str] = field(default_factory=list)
    project_hash: str | None = None  # configured next to `bootstrap`: the found project must be this one

    def to_dict(self) -> dict[str, Any]:
        """Plain data for an operator argument (serialised with the DAG)."""
        return {
            "entry": self.entry.model_dump(mode="json"),
            "ontology": self.ontology.model_dump(mode="json") if self.ontology else None,
            "template_hash": self.template_hash,
            "stages": self.stages,
            "agent_stages": self.agent_stages,
            "project_hash": self.project_hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BootstrapPlan:
        ontology = data.get("ontology")
        return cls(
            entry=BootstrapConfig.model_validate(data["entry"]),
            ontology=OntologyConfig.model_validate(ontology) if ontology else None,
            template_hash=data.get("template_hash"),
            stages=data.get("stages"),
            agent_stages=list(data.get("agent_stages") or []),
            project_hash=data.get("project_hash"),
        )


def plan_for(project: ProjectPipeline, pipelines: PipelinesFile) -> BootstrapPlan:
    if project.bootstrap is None:
        raise BootstrapError(f"project {project.name!r} has no 'bootstrap' section")
    entry = project.bootstrap
    ontology = next((o for o in pipelines.ontologies if o.title == entry.ontology), None)
    template = _template(entry.workflow.template, pipelines.workflow_templates)
    template_hash = template.hash if template else entry.workflow.template
    stages = entry.workflow.stages or (template.stages if template else None)
    agent_stages = [stage for agent in project.agents for stage in agent.stages if not is_uuid(stage)]
    return BootstrapPlan(entry, ontology, template_hash, stages, agent_stages, project.project_hash)


def _template(ref: str | None, templates: list[WorkflowTemplateConfig]) -> WorkflowTemplateConfig | None:
    if not ref:
        return None
    return next((t for t in templates if t.title == ref or t.hash == ref.lower()), None)


def bootstrap_project(api: SetupApi, plan: BootstrapPlan) -> BootstrapReport:
    """Find or create; raises `BootstrapDriftError` on drift when the entry says `on_drift: fail`."""
    report = BootstrapReport(project=plan.entry.title)
    report.ontology_hash = _ensure_ontology(api, plan, report)
    dataset_hashes = _ensure_datasets(api, plan.entry.datasets, report)
    _ensure_project(api, plan, dataset_hashes, report)
    for line in report.lines():
        log.log(logging.WARNING if line.lstrip().startswith("DRIFT") else logging.INFO, "%s", line)
    if report.drift and plan.entry.on_drift == "fail":
        raise BootstrapDriftError("\n".join(report.lines()))
    return report


class FindOnly:
    """The gateway with every create call refused: the bootstrap of a project's second DAG only finds, so
    two DAGs starting at once never both create (the first DAG, `creator`, does)."""

    def __init__(self, api: SetupApi, creator: str) -> None:
        self._api = api
        self._creator = creator

    def __getattr__(self, name: str) -> Any:
        if name.startswith("create_"):
            return self._refuse
        return getattr(self._api, name)

    def _refuse(self, title: Any, *args: Any, **kwargs: Any) -> Any:
        what = title if isinstance(title, str) else getattr(title, "title", title)  # DatasetConfig
        raise NotBootstrappedError(
            f"{what!r} is not in Encord yet: the bootstrap task of {self._creator} creates it"
        )


def require_project(report: BootstrapReport) -> str:
    """The project hash; an error when drift (a title used twice) left the project unresolved."""
    if report.project_hash is None:
        raise BootstrapError(
            f"project {report.project!r} could not be found or created: " + "; ".join(map(str, report.drift))
        )
    return report.project_hash


def _ensure_ontology(api: SetupApi, plan: BootstrapPlan, report: BootstrapReport) -> str | None:
    title = plan.entry.ontology
    subject = f"ontology {title!r}"
    found = api.ontologies_titled(title)
    if len(found) > 1:
        hashes = sorted(str(o.ontology_hash) for o in found)
        report.drift.append(
            Drift("duplicate_title", subject, f"{len(found)} ontologies have this title: {hashes}")
        )
        return None
    if not found:
        if plan.ontology is None:
            raise BootstrapError(
                f"{subject} is not in Encord and not declared in the file's 'ontologies' section"
            )
        created = api.create_ontology(title, plan.ontology.description, build_structure(plan.ontology))
        report.actions[subject] = "created"
        return str(created.ontology_hash)
    report.actions[subject] = "found"
    if plan.ontology is not None:
        differences = outline_drift(config_outline(plan.ontology), outline(found[0].structure.to_dict()))
        if len(differences) > MAX_STRUCTURE_LINES:  # keep the report (an XCom) small
            more = len(differences) - MAX_STRUCTURE_LINES
            differences = [*differences[:MAX_STRUCTURE_LINES], f"... and {more} more differences"]
        report.drift += [Drift("ontology_structure", subject, line) for line in differences]
    return str(found[0].ontology_hash)


def _ensure_datasets(api: SetupApi, titles: list[str], report: BootstrapReport) -> dict[str, str] | None:
    """Hash -> title of every dataset; None when one title is ambiguous."""
    hashes: dict[str, str] = {}
    for title in titles:
        subject = f"dataset {title!r}"
        try:
            found = api.dataset_by_title(title)
        except EncordTargetError as err:  # the title is used twice
            report.drift.append(Drift("duplicate_title", subject, str(err)))
            return None
        report.actions[subject] = "found" if found else "created"
        hashes[found or api.create_dataset(DatasetConfig(title=title, hash=None))] = title
    return hashes


def _ensure_project(
    api: SetupApi, plan: BootstrapPlan, datasets: dict[str, str] | None, report: BootstrapReport
) -> None:
    entry = plan.entry
    subject = f"project {entry.title!r}"
    found = api.projects_titled(entry.title)
    if len(found) > 1:
        hashes = sorted(str(p.project_hash) for p in found)
        report.drift.append(
            Drift("duplicate_title", subject, f"{len(found)} projects have this title: {hashes}")
        )
        return
    if found:
        project = found[0]
        report.actions[subject] = "found"
        _check_found(api, plan, project, datasets, report)
    elif report.ontology_hash is None or datasets is None:
        log.warning("%s is not created: its ontology or a dataset title is ambiguous", subject)
        return
    else:
        project_hash = api.create_project(
            entry.title, description=entry.description, dataset_hashes=list(datasets),
            ontology_hash=report.ontology_hash, template_hash=plan.template_hash,
        )  # fmt: skip
        report.actions[subject] = "created"
        project = api.project_by_hash(project_hash)
    report.project_hash = str(project.project_hash)
    _check_workflow(api, plan, project, report)


def _check_found(
    api: SetupApi, plan: BootstrapPlan, project: Any, datasets: dict[str, str] | None, report: BootstrapReport
) -> None:
    subject = f"project {plan.entry.title!r}"
    if plan.project_hash and str(project.project_hash) != plan.project_hash:
        report.drift.append(
            Drift(
                "duplicate_title",
                subject,
                f"found {project.project_hash}, the config says {plan.project_hash}",
            )
        )
    if report.ontology_hash and str(project.ontology_hash) != report.ontology_hash:
        report.drift.append(
            Drift("project_ontology", subject, f"uses ontology {project.ontology_hash}, not {report.ontology_hash} "
                  f"({plan.entry.ontology!r})")
        )  # fmt: skip
    if datasets is None:
        return
    attached = api.project_datasets(project)
    missing = sorted(title for h, title in datasets.items() if h not in attached)
    extra = sorted(title for h, title in attached.items() if h not in datasets)
    if missing:
        report.drift.append(Drift("project_datasets", subject, f"datasets {missing} are not attached"))
    if extra:
        report.drift.append(
            Drift("project_datasets", subject, f"datasets {extra} are attached, not in the config")
        )


def _check_workflow(api: SetupApi, plan: BootstrapPlan, project: Any, report: BootstrapReport) -> None:
    subject = f"project {plan.entry.title!r}"
    stages = api.project_stages(project)
    if stages is None:
        report.drift.append(Drift("project_workflow", subject, "is not a workflow project"))
        return
    if plan.stages is not None and stages != plan.stages:
        report.drift.append(
            Drift("project_workflow", subject, f"stages are {stages}, the config says {plan.stages}")
        )
    missing = [stage for stage in plan.agent_stages if stage not in stages]
    if missing:
        report.drift.append(Drift("project_workflow", subject, f"agent stages {missing} are not in {stages}"))

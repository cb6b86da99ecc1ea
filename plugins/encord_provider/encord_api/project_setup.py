"""The gateway's calls for projects from config: ontologies and projects by title, and their creation.

A mixin of `EncordApi` (`gateway.py`), made through the same `read` / `write_once` of `calls.py`. The
SDK sends `create_ontology` and `create_project` once (no retries): after an ambiguous failure the title
is looked up again, and what the failed call created is used, so a retry never creates a second one.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from encord_provider.encord_api.calls import EncordCalls
from encord_provider.ingest.errors import AmbiguousWriteError

if TYPE_CHECKING:
    from encord.objects.ontology_structure import OntologyStructure


class ProjectSetupCalls(EncordCalls):
    client: Any

    def ontologies_titled(self, title: str) -> list[Any]:
        """Every SDK `Ontology` titled exactly `title` (the filter matches case-insensitively)."""
        found = self.read(partial(self.client.get_ontologies, title_eq=title), f"look up ontology {title!r}")
        return [entry["ontology"] for entry in found if entry["ontology"].title == title]

    def create_ontology(self, title: str, description: str, structure: OntologyStructure) -> Any:
        create = partial(self.client.create_ontology, title, description=description, structure=structure)
        try:
            return self.write_once(create, f"create ontology {title!r}")
        except AmbiguousWriteError:
            return self._created_after_all(self.ontologies_titled(title), f"ontology {title!r}")

    def projects_titled(self, title: str) -> list[Any]:
        """Every SDK `Project` titled exactly `title`."""
        found = self.read(
            lambda: list(self.client.list_projects(title_eq=title)), f"look up project {title!r}"
        )
        return [project for project in found if project.title == title]

    def create_project(
        self,
        title: str,
        *,
        description: str,
        dataset_hashes: list[str],
        ontology_hash: str,
        template_hash: str | None,
    ) -> str:
        create = partial(
            self.client.create_project, title, dataset_hashes, project_description=description,
            ontology_hash=ontology_hash, workflow_template_hash=template_hash,
        )  # fmt: skip
        try:
            return str(self.write_once(create, f"create project {title!r}"))
        except AmbiguousWriteError:
            return str(
                self._created_after_all(self.projects_titled(title), f"project {title!r}").project_hash
            )

    def project_by_hash(self, project_hash: str) -> Any:
        return self.read(partial(self.client.get_project, project_hash), f"get project {project_hash}")

    def project_datasets(self, project: Any) -> dict[str, str]:
        """Title of every dataset attached to the project, by hash."""
        listed = self.read(
            lambda: list(project.list_datasets()), f"list datasets of project {project.title!r}"
        )
        return {str(dataset.dataset_hash): str(dataset.title) for dataset in listed}

    @staticmethod
    def project_stages(project: Any) -> list[str] | None:
        """Stage titles of a workflow project, in Encord's order; None for a project without a workflow."""
        from encord.orm.project import ProjectType

        if project.project_type != ProjectType.WORKFLOW:
            return None
        return [str(stage.title) for stage in project.workflow.stages]

    @staticmethod
    def _created_after_all(found: list[Any], what: str) -> Any:
        if len(found) != 1:
            raise AmbiguousWriteError(
                f"creating {what} failed ambiguously and {len(found)} now exist; check Encord before retrying"
            )
        return found[0]

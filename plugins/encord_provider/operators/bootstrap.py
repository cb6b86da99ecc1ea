"""EncordProjectBootstrapOperator: find or create a project (ontology, datasets, workflow) from config.

The first task of the agents and export DAGs of every `projects:` entry with a `bootstrap:` section; its
output (the report, `project_hash` included) feeds their `project_hash` through XCom. The work is
`encord_provider.projects.bootstrap`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from encord_provider.config.loader import PipelinesFile
from encord_provider.config.projects import ProjectPipeline
from encord_provider.hooks.encord import EncordHook
from encord_provider.operators.failures import failing_fast

BOOTSTRAP_TASK_ID = "bootstrap"
PROJECT_HASH_FROM_BOOTSTRAP = "{{ ti.xcom_pull(task_ids='" + BOOTSTRAP_TASK_ID + "')['project_hash'] }}"


class EncordProjectBootstrapOperator(BaseOperator):
    """Find the project by title or create it; report drift (`on_drift: fail` fails the task).

    :param plan: `BootstrapPlan.to_dict()` of the project entry (what the DAG was built from).
    :param encord_conn_id: Airflow connection of type `encord`.
    """

    ui_color = "#e8e0f8"

    def __init__(
        self, *, plan: dict[str, Any], encord_conn_id: str = EncordHook.default_conn_name, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.plan = plan
        self.encord_conn_id = encord_conn_id

    @failing_fast
    def execute(self, context: Any) -> dict[str, Any]:
        from encord_provider.projects.bootstrap import BootstrapPlan, bootstrap_project, require_project

        report = bootstrap_project(EncordHook(self.encord_conn_id).api, BootstrapPlan.from_dict(self.plan))
        for line in report.lines():
            self.log.info("%s", line)
        require_project(report)
        return report.to_dict()


def project_hash_of(project: ProjectPipeline, pipelines: PipelinesFile) -> str:
    """The `project_hash` argument of a project DAG's tasks. With `bootstrap:` (call it inside the DAG
    context) this adds the bootstrap task and returns the XCom template that reads its hash."""
    if project.bootstrap is None:
        return str(project.project_hash)
    from encord_provider.projects.bootstrap import plan_for

    EncordProjectBootstrapOperator(
        task_id=BOOTSTRAP_TASK_ID,
        plan=plan_for(project, pipelines).to_dict(),
        encord_conn_id=project.encord_conn_id,
    )
    return PROJECT_HASH_FROM_BOOTSTRAP

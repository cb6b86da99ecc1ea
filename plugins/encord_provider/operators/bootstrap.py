"""EncordProjectBootstrapOperator: find or create a project (ontology, datasets, workflow) from config.

The first task of the agents and export DAGs of every `projects:` entry with a `bootstrap:` section; its
output (the report, `project_hash` included) feeds their `project_hash` through XCom. Only one of the two
creates (the agents DAG when there is one); the other only finds, so runs starting together never create
twice. The work is `encord_provider.projects.bootstrap`.
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
    :param creator_dag: None = this task creates what is missing; else it only finds (and retries until
        the bootstrap task of `creator_dag` has created the project), so two DAGs never both create.
    """

    ui_color = "#e8e0f8"

    def __init__(
        self,
        *,
        plan: dict[str, Any],
        encord_conn_id: str = EncordHook.default_conn_name,
        creator_dag: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.plan = plan
        self.encord_conn_id = encord_conn_id
        self.creator_dag = creator_dag

    @failing_fast
    def execute(self, context: Any) -> dict[str, Any]:
        from encord_provider.projects.bootstrap import (
            BootstrapPlan,
            FindOnly,
            bootstrap_project,
            require_project,
        )

        api: Any = EncordHook(self.encord_conn_id).api
        if self.creator_dag:
            api = FindOnly(api, self.creator_dag)
        report = bootstrap_project(api, BootstrapPlan.from_dict(self.plan))  # logs each action and drift
        require_project(report)
        return report.to_dict()


def creator_dag_id(project: ProjectPipeline) -> str:
    """The one DAG of a project whose bootstrap task creates: the agents DAG if there is one, else export."""
    return f"encord_agents__{project.name}" if project.agents else f"encord_export__{project.name}"


def project_hash_of(project: ProjectPipeline, pipelines: PipelinesFile, dag_id: str) -> str:
    """The `project_hash` argument of a project DAG's tasks. With `bootstrap:` (call it inside the DAG
    context) this adds the bootstrap task and returns the XCom template that reads its hash."""
    if project.bootstrap is None:
        return str(project.project_hash)
    from encord_provider.projects.bootstrap import plan_for

    creator = creator_dag_id(project)
    EncordProjectBootstrapOperator(
        task_id=BOOTSTRAP_TASK_ID,
        plan=plan_for(project, pipelines).to_dict(),
        encord_conn_id=project.encord_conn_id,
        creator_dag=None if dag_id == creator else creator,
    )
    return PROJECT_HASH_FROM_BOOTSTRAP

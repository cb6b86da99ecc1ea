"""(File not named encord_agents.py: dags/ is on sys.path and would shadow the encord_agents package.)

One `encord_agents__<name>` DAG per entry of `projects:` in the pipelines file that has agents.

Scheduled on the ingest pipeline's Asset (`encord://<pipeline>/ingested`) when `triggered_by_ingest` is set,
else on `agents_schedule` (cron) or manual only. Parsing reads the YAML only: no client, no import of agents.
"""

from __future__ import annotations

import re
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, chain
from encord_provider.config.loader import PipelinesFile, default_pipelines_path, load_pipelines
from encord_provider.config.projects import ProjectPipeline
from encord_provider.config.task_defaults import default_args
from encord_provider.deadlines import deadline_alert
from encord_provider.operators.agents import EncordAgentStageOperator
from encord_provider.operators.bootstrap import project_hash_of

# Agents resolve next to the pipelines file, then in the project's include/ folder (path arithmetic only).
AGENT_SEARCH_PATHS = [
    str(default_pipelines_path().parent),
    str(Path(__file__).resolve().parents[1] / "include"),
]


def _task_id(index: int, stages: list[str], agent: str) -> str:
    label = "_".join(stages) or agent.rpartition(":")[0].rpartition(".")[2]
    return f"agent_{index}_" + re.sub(r"[^A-Za-z0-9_]+", "_", label).strip("_")[:60]


def build_agents_dag(project: ProjectPipeline, pipelines: PipelinesFile | None = None) -> DAG:
    schedule: object = (
        [Asset(project.ingest_asset_uri)] if project.ingest_asset_uri else project.agents_schedule
    )
    with DAG(
        dag_id=f"encord_agents__{project.name}",
        schedule=schedule,  # type: ignore[arg-type]
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        default_args=default_args(project),
        catchup=False,
        max_active_runs=1,
        tags=["encord", "agents", *project.tags],
        deadline=deadline_alert(project.agents_deadline, project.name, f"encord_agents__{project.name}"),
        doc_md=f"Drain the agent stages of Encord project `{project.project_hash or project.name}`.",
    ) as dag:
        project_hash = project_hash_of(project, pipelines or PipelinesFile(), dag.dag_id)
        bootstrap = list(dag.tasks)  # the bootstrap task, if any
        chain(
            *bootstrap,
            *[
                EncordAgentStageOperator(
                    task_id=_task_id(index, agent.stages, agent.agent),
                    project_hash=project_hash,
                    agent=agent.agent,
                    stages=agent.stages,
                    encord_conn_id=project.encord_conn_id,
                    max_tasks_per_run=agent.max_tasks_per_run,
                    bundle_size=agent.bundle_size,
                    include_signed_url=agent.include_signed_url,
                    search_paths=AGENT_SEARCH_PATHS,
                )
                for index, agent in enumerate(project.agents)
            ],
        )
    return dag


_pipelines = load_pipelines()
for _project in _pipelines.projects:
    if _project.agents:
        globals()[f"encord_agents__{_project.name}"] = build_agents_dag(_project, _pipelines)

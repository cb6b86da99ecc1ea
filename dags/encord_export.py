"""One `encord_export__<name>` DAG per entry of `projects:` with an `export:` section.

Each run writes the next label version (Encord JSON, COCO, flat table, manifest, `_SUCCESS`) to the
warehouse bucket, or nothing when no label changed. Manual runs take Params: stage filter, version name,
full snapshot. Parsing reads the YAML only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, Param
from encord_provider.assets import labels_asset_uri
from encord_provider.config.loader import PipelinesFile, load_pipelines
from encord_provider.config.projects import ExportConfig, ProjectPipeline
from encord_provider.config.task_defaults import default_args
from encord_provider.deadlines import deadline_alert
from encord_provider.operators.bootstrap import project_hash_of
from encord_provider.operators.export import EncordExportLabelsOperator


def export_params(export: ExportConfig) -> dict[str, Param]:
    return {
        "stage": Param(
            export.stage, type=["null", "string"], title="Workflow stage",
            description="Only label rows currently in this stage (empty = configured filter / all stages).",
        ),
        "version_name": Param(
            None, type=["null", "string"], title="Version name", pattern=r"^[^/]*$",
            description=f"Empty = from the template {export.version_name_template!r}.",
        ),
        "full_snapshot": Param(False, type="boolean", title="Full snapshot", description="Ignore incrementals."),
    }  # fmt: skip


def build_export_dag(
    project: ProjectPipeline, export: ExportConfig, pipelines: PipelinesFile | None = None
) -> DAG:
    with DAG(
        dag_id=f"encord_export__{project.name}",
        schedule=export.schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        default_args=default_args(project),
        catchup=False,
        max_active_runs=1,
        params=export_params(export),
        tags=["encord", "export", *project.tags],
        deadline=deadline_alert(export.deadline, project.name, f"encord_export__{project.name}"),
        doc_md=f"Versioned label export of Encord project `{project.project_hash or project.name}` to `{export.uri}`.",
    ) as dag:
        project_hash = project_hash_of(project, pipelines or PipelinesFile(), dag.dag_id)
        upstream = list(dag.tasks)  # the bootstrap task, if any
        export_task = EncordExportLabelsOperator(
            task_id="export_labels",
            project_name=project.name,
            project_hash=project_hash,
            encord_conn_id=project.encord_conn_id,
            warehouse_uri=export.uri,
            warehouse_conn_id=export.conn_id,
            endpoint_url=export.endpoint_url,
            prefix=export.prefix,
            stage="{{ params.stage or '' }}",
            include_object_feature_hashes=export.include_object_feature_hashes,
            include_classification_feature_hashes=export.include_classification_feature_hashes,
            signed_urls=export.signed_urls,
            label_statuses=export.label_statuses,
            data_units=export.data_units,
            formats=export.formats,
            coco_options=export.coco.model_dump(),
            version_name_template=export.version_name_template,
            full_snapshot_every=export.full_snapshot_every,
            rows_per_file=export.rows_per_file,
            bundle_size=export.bundle_size,
            fetch_workers=export.fetch_workers,
            force_full="{{ params.full_snapshot }}",
            version_name="{{ params.version_name or '' }}",
            outlets=[Asset(labels_asset_uri(project.name))],
        )
        export_task.set_upstream(upstream)
    return dag


_pipelines = load_pipelines()
for _project in _pipelines.projects:
    if _project.export is not None:
        globals()[f"encord_export__{_project.name}"] = build_export_dag(_project, _project.export, _pipelines)

"""One `encord_ingest__<name>` DAG per pipeline in include/pipelines.yaml (or $ENCORD_PIPELINES_FILE).

Pipelines triggered by S3 events or bucket polling get the source Asset in the same DAG's schedule, so
scheduled, manual and event-driven runs never overlap. Parsing only reads and validates the YAML: no
client, no listing. (The words airflow and dag appear here because airflow's safe-mode discovery skips
files without them.)
"""

from __future__ import annotations

from encord_provider.config.loader import load_pipelines
from encord_provider.operators.ingest_dag import build_ingest_dag

for _pipeline in load_pipelines().pipelines:
    globals()[_pipeline.dag_id] = build_ingest_dag(_pipeline)

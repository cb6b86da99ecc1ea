"""One `encord_ingest__<name>` DAG per pipeline in include/pipelines.yaml (or $ENCORD_PIPELINES_FILE),
plus `encord_ingest_events__<name>` for pipelines triggered by S3 events or bucket polling.

Parsing only reads and validates the YAML: no client, no listing. (The words airflow and dag appear here
because airflow's safe-mode discovery skips files without them.)
"""

from __future__ import annotations

from encord_provider.config.loader import load_pipelines
from encord_provider.operators.ingest_dag import build_events_dag, build_ingest_dag

for _pipeline in load_pipelines().pipelines:
    globals()[_pipeline.dag_id] = build_ingest_dag(_pipeline)
    _events = build_events_dag(_pipeline)
    if _events is not None:
        globals()[_events.dag_id] = _events

"""Every DAG file imports cleanly, carries tags/owner/retries, and builds no client at parse time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


class ParseTimeClientError(AssertionError):
    pass


def _forbid(*_: Any, **__: Any) -> Any:
    raise ParseTimeClientError("a client was constructed while parsing DAG files")


@pytest.fixture(scope="module")
def dagbag(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    import boto3
    from airflow.dag_processing.dagbag import DagBag
    from azure.storage.blob import BlobServiceClient
    from encord.user_client import EncordUserClient
    from google.cloud import storage

    patcher = pytest.MonkeyPatch()
    patcher.setattr(EncordUserClient, "create_with_ssh_private_key", staticmethod(_forbid))
    patcher.setattr(boto3, "client", _forbid)
    patcher.setattr(boto3, "resource", _forbid)
    patcher.setattr(storage, "Client", _forbid)
    patcher.setattr(BlobServiceClient, "from_connection_string", classmethod(_forbid))
    try:
        yield DagBag(dag_folder=str(DAGS_FOLDER))
    finally:
        patcher.undo()


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}


def test_dags_are_found(dagbag) -> None:  # type: ignore[no-untyped-def]
    if not list(DAGS_FOLDER.glob("*.py")):
        pytest.skip("no DAG files yet")
    assert dagbag.dags, "DAG files exist but produced no DAG"


def test_every_dag_has_tags_owner_and_retries(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has the default owner"
            assert task.retries is not None and task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


PROJECTS_SECTION = """
projects:
  - name: integrity_bootstrap
    bootstrap: {title: Integrity project, ontology: Demo fruit, datasets: [Demo dataset], workflow: Demo review workflow}
    agents: [{stage: Annotate 1, agent: agents.pre_label:pre_label}]
    export: {uri: "s3://warehouse/encord", conn_id: aws_default}
  - name: integrity_hash
    project_hash: 00000000-0000-0000-0000-000000000001
    export: {uri: "s3://warehouse/encord", conn_id: aws_default}
"""


def test_project_dags_have_owner_and_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    shipped = (DAGS_FOLDER.parent / "include" / "pipelines.yaml").read_text()
    pipelines = tmp_path / "pipelines.yaml"
    pipelines.write_text(shipped.replace("projects: []", PROJECTS_SECTION.strip()))
    monkeypatch.setenv("ENCORD_PIPELINES_FILE", str(pipelines))
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    project_dags = [d for d in bag.dags.values() if not d.dag_id.startswith("encord_ingest__")]
    assert {d.dag_id for d in project_dags} >= {
        "encord_agents__integrity_bootstrap",
        "encord_export__integrity_hash",
    }
    for dag in project_dags:
        for task in dag.tasks:
            assert task.owner == "encord-projects", f"{dag.dag_id}.{task.task_id}"
            assert task.retries == 2, f"{dag.dag_id}.{task.task_id}"

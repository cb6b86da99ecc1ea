"""The prepare step of `encord_ingest__<name>`: datasets found by title, attached to projects.

resources.json in staging is only a cache: a dataset created by a run that crashed before writing it is
found again by its title, never created twice.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.dags.test_ingest_support import (
    dataset_rows,
    folder_items,
    pipeline_config,
    run_dag,
    seed_integration,
    task_states,
    write_pipelines,
    xcom,
)

pytestmark = pytest.mark.timeout(300)
INTEGRATION = "test-aws"
DAG_ID = "encord_ingest__prep"
IMAGES = ("in/a.png", "in/b.png", "in/c.png")


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str,
           encord_emulator: Any, **overrides: Any) -> dict[str, Any]:  # fmt: skip
    from tests.emulator.test_projects_helpers import png_bytes

    s3_client.create_bucket(Bucket="media")
    s3_client.create_bucket(Bucket="staging")
    for index, key in enumerate(IMAGES):
        s3_client.put_object(Bucket="media", Key=key, Body=png_bytes(20 + index, 10, 40 * index))
    seed_integration(encord_emulator, INTEGRATION, "aws", endpoint_url=moto_endpoint)
    config = pipeline_config(
        "prep", "s3", "media", "aws_test", "s3://staging/encord", INTEGRATION, **overrides
    )
    write_pipelines(tmp_path, monkeypatch, config)
    return config


def _resources(s3_client: Any) -> dict[str, Any]:
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket="staging").get("Contents", [])]
    (key,) = [k for k in keys if k.endswith("/resources.json")]
    return json.loads(s3_client.get_object(Bucket="staging", Key=key)["Body"].read())


def _datasets_titled(client: Any, title: str) -> list[str]:
    return [str(entry["dataset"].dataset_hash) for entry in client.get_datasets(title_eq=title)]


def test_dataset_created_before_a_crash_is_found_by_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str,
    encord_emulator: Any, encord_client: Any,
) -> None:  # fmt: skip
    from encord.orm.dataset import StorageLocation

    config = _setup(tmp_path, monkeypatch, s3_client, moto_endpoint, encord_emulator)
    title = config["datasets"][0]["title"]
    # The first run created the dataset and died before resources.json was written.
    created = str(
        encord_client.create_dataset(
            title, StorageLocation.CORD_STORAGE, create_backing_folder=False
        ).dataset_hash
    )
    assert not [o for o in s3_client.list_objects_v2(Bucket="staging").get("Contents", [])]

    dag_run = run_dag(DAG_ID)
    assert dag_run.state == "success", task_states(dag_run)
    assert _datasets_titled(encord_client, title) == [created]
    assert xcom(dag_run, "prepare")["dataset_hashes"] == [created]
    items = folder_items(encord_client, config["folder"]["name"])
    assert sorted(i.name for i in items) == list(IMAGES)
    assert {str(r.backing_item_uuid) for r in dataset_rows(encord_client, dag_run)} == {
        str(i.uuid) for i in items
    }
    assert _resources(s3_client)["datasets"] == {title: created}


def test_stale_cached_hash_falls_back_to_the_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str,
    encord_emulator: Any, encord_client: Any,
) -> None:  # fmt: skip
    from encord_provider.config.ingest import DatasetConfig
    from encord_provider.encord_api import EncordApi
    from encord_provider.ingest.targets import resolve_dataset

    title = f"stale-{uuid.uuid4().hex[:8]}"
    config = DatasetConfig.model_validate({"title": title})
    found, how = resolve_dataset(EncordApi(encord_client), config, str(uuid.uuid4()))
    assert how == "created" and _datasets_titled(encord_client, title) == [found]
    assert resolve_dataset(EncordApi(encord_client), config, str(uuid.uuid4())) == (found, "found")
    assert resolve_dataset(EncordApi(encord_client), config, found) == (found, "remembered")
    assert _datasets_titled(encord_client, title) == [found]


def test_two_datasets_with_the_title_fail_naming_both(encord_client: Any) -> None:
    from encord.orm.dataset import StorageLocation
    from encord_provider.config.ingest import DatasetConfig
    from encord_provider.encord_api import EncordApi
    from encord_provider.ingest.errors import EncordTargetError
    from encord_provider.ingest.targets import resolve_dataset

    title = f"twin-{uuid.uuid4().hex[:8]}"
    hashes = [
        str(
            encord_client.create_dataset(
                title, StorageLocation.CORD_STORAGE, create_backing_folder=False
            ).dataset_hash
        )
        for _ in range(2)
    ]
    with pytest.raises(EncordTargetError) as failure:
        resolve_dataset(EncordApi(encord_client), DatasetConfig.model_validate({"title": title}), None)
    message = str(failure.value)
    assert title in message and all(h in message for h in hashes)
    assert sorted(_datasets_titled(encord_client, title)) == sorted(hashes)  # nothing created


def test_configured_hash_that_does_not_exist_is_an_error(encord_client: Any) -> None:
    from encord_provider.config.ingest import DatasetConfig
    from encord_provider.encord_api import EncordApi
    from encord_provider.ingest.errors import EncordTargetError
    from encord_provider.ingest.targets import resolve_dataset

    missing = str(uuid.uuid4())
    config = DatasetConfig.model_validate({"title": f"pinned-{missing[:8]}", "hash": missing})
    with pytest.raises(EncordTargetError, match=missing):
        resolve_dataset(EncordApi(encord_client), config, None)


def test_dataset_is_attached_to_projects_and_items_become_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_client: Any, moto_endpoint: str,
    encord_emulator: Any, encord_client: Any,
) -> None:  # fmt: skip
    from encord_provider.encord_api import EncordApi

    from tests.emulator.test_projects_helpers import ONTOLOGY_SPEC

    tag = uuid.uuid4().hex[:8]
    project_hash = str(uuid.uuid4())
    encord_emulator.admin_post("/admin/seed", {
        "ontologies": [{"title": f"onto-{tag}", **ONTOLOGY_SPEC}],
        "projects": [{"title": f"project-{tag}", "project_hash": project_hash, "ontology": f"onto-{tag}", "datasets": []}],
    })  # fmt: skip
    assert list(encord_client.get_project(project_hash).list_datasets()) == []
    config = _setup(tmp_path, monkeypatch, s3_client, moto_endpoint, encord_emulator,
                    datasets=[{"title": f"attached-{tag}", "attach_to_projects": [project_hash]}])  # fmt: skip

    dag_run = run_dag(DAG_ID)
    assert dag_run.state == "success", task_states(dag_run)
    (dataset_hash,) = xcom(dag_run, "prepare")["dataset_hashes"]
    listed = list(encord_client.get_project(project_hash).list_datasets())
    assert [str(d.dataset_hash) for d in listed] == [dataset_hash]
    items = {str(i.uuid): i.name for i in folder_items(encord_client, config["folder"]["name"])}
    assert len(items) == len(IMAGES)
    tasks = encord_emulator.admin_get(f"/admin/projects/{project_hash}/tasks")["tasks"]
    assert {t["data_hash"]: t["data_title"] for t in tasks} == items
    assert {t["stage"] for t in tasks} == {"Annotate"}
    assert (
        EncordApi(encord_client).attach_dataset_to_projects(dataset_hash, [project_hash]) == []
    )  # already there


def test_stale_cached_folder_falls_back_to_the_name(encord_client: Any) -> None:
    from encord_provider.config.ingest import FolderConfig
    from encord_provider.encord_api import EncordApi
    from encord_provider.ingest.targets import resolve_folder

    name = f"folder-{uuid.uuid4().hex[:8]}"
    config, api = FolderConfig.model_validate({"name": name}), EncordApi(encord_client)
    created, how = resolve_folder(api, config, str(uuid.uuid4()))
    assert how == "created"
    assert resolve_folder(api, config, str(uuid.uuid4())) == (created, "found")
    assert resolve_folder(api, config, created) == (created, "remembered")
    names = [f.name for f in encord_client.find_storage_folders(search=name)]
    assert names == [name]


def test_two_top_level_folders_with_the_name_fail_naming_both(encord_client: Any) -> None:
    from encord_provider.config.ingest import FolderConfig
    from encord_provider.encord_api import EncordApi
    from encord_provider.ingest.errors import EncordTargetError
    from encord_provider.ingest.targets import resolve_folder

    name = f"twin-folder-{uuid.uuid4().hex[:8]}"
    uuids = [str(encord_client.create_storage_folder(name).uuid) for _ in range(2)]
    with pytest.raises(EncordTargetError) as failure:
        resolve_folder(EncordApi(encord_client), FolderConfig.model_validate({"name": name}), None)
    assert all(u in str(failure.value) for u in uuids)

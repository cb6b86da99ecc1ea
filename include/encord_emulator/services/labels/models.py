"""Label row documents: the only writer of kind ``label_row`` (id = label hash).

A label row is keyed to ``(project, data hash, branch)`` and keeps what the SDK saved (per-data-unit
``labels`` plus the answer maps); everything else in a label dict is rendered fresh on every read.
"""

from __future__ import annotations

from typing import Any

from encord_emulator.core.common import new_uuid, now_iso
from encord_emulator.core.errors import invalid_arguments, not_found
from encord_emulator.core.store import Store
from encord_emulator.services.datasets import models as datasets
from encord_emulator.services.ontologies.models import ONTOLOGY_KIND
from encord_emulator.services.projects import models as projects
from encord_emulator.services.workflow import models as workflow

LABEL_KIND = "label_row"
MAIN_BRANCH = "main"


def labels_by_data_hash(store: Store, project_hash: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (doc["data_hash"], doc["branch_name"]): doc
        for doc in store.query(LABEL_KIND, project_hash=project_hash)
    }


def labels_of_data(
    store: Store, project_hash: str, data_hashes: set[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Label rows by (data hash, branch) of these data hashes only (one indexed query each)."""
    return {
        (doc["data_hash"], doc["branch_name"]): doc
        for data_hash in data_hashes
        for doc in store.query(LABEL_KIND, project_hash=project_hash, data_hash=data_hash)
    }


def labels_by_hash(
    store: Store, project_hash: str, label_hashes: list[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    docs = store.get_many(LABEL_KIND, label_hashes).values()
    return {(d["data_hash"], d["branch_name"]): d for d in docs if d["project_hash"] == project_hash}


def branch_names(store: Store, project_hash: str) -> set[str]:
    return {str(label["branch_name"]) for label in store.query(LABEL_KIND, project_hash=project_hash)}


def get_label_or_404(store: Store, project_hash: str, label_hash: str) -> dict[str, Any]:
    label = store.get(LABEL_KIND, str(label_hash))
    if label is None or label["project_hash"] != project_hash:
        raise not_found(f"label row {label_hash} does not exist in project {project_hash}")
    return label


def view_for(store: Store, project: dict[str, Any], data_hash: str) -> dict[str, Any]:
    return views_for(store, project, [data_hash])[data_hash]


def views_for(store: Store, project: dict[str, Any], data_hashes: list[str]) -> dict[str, dict[str, Any]]:
    """The data views of `data_hashes`, read in one pass over the project's rows (not one per label row)."""
    views = {view["data_hash"]: view for view in projects.project_data(store, project, set(data_hashes))}
    for data_hash in data_hashes:
        if data_hash not in views:
            raise not_found(f"data {data_hash} is not in project {project['project_hash']}")
    return views


def create_label_row(store: Store, project: dict[str, Any], data_hash: str, branch: str) -> dict[str, Any]:
    """The label row of ``(project, data_hash, branch)``, created if missing (idempotent)."""
    with store.transaction():
        existing = store.query(
            LABEL_KIND, project_hash=project["project_hash"], data_hash=data_hash, branch_name=branch
        )
        if existing:
            return existing[0]
        view = view_for(store, project, data_hash)
        stamp = now_iso()
        label = {
            "label_hash": new_uuid(),
            "project_hash": project["project_hash"],
            "data_hash": data_hash,
            "dataset_hash": view["dataset_hash"],
            "branch_name": branch,
            "created_at": stamp,
            "last_edited_at": stamp,
            "content": None,
        }
        store.put(LABEL_KIND, label["label_hash"], label)
    return label


def ontology_feature_hashes(store: Store, project: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(object feature hashes, classification feature hashes) of the project's ontology."""
    editor = (store.get(ONTOLOGY_KIND, project["ontology_hash"]) or {}).get("editor") or {}
    objects = {str(o["featureNodeHash"]) for o in editor.get("objects", [])}
    classifications = {str(c["featureNodeHash"]) for c in editor.get("classifications", [])}
    return objects, classifications


def _unit_objects(labels: dict[str, Any]) -> list[dict[str, Any]]:
    if "objects" in labels:
        return list(labels.get("objects") or [])
    return [obj for frame in labels.values() if isinstance(frame, dict) for obj in frame.get("objects") or []]


def validate_labels(
    store: Store, project: dict[str, Any], label: dict[str, Any], labels: dict[str, Any]
) -> None:
    """Reject a save the real backend would reject, naming the offending element."""
    if not isinstance(labels, dict) or not isinstance(labels.get("data_units"), dict):
        raise invalid_arguments(
            f"label row {label['label_hash']}: payload is not a label dict with data_units"
        )
    if str(labels.get("data_hash", label["data_hash"])) != label["data_hash"]:
        raise invalid_arguments(
            f"label row {label['label_hash']} belongs to data {label['data_hash']}, not {labels.get('data_hash')}"
        )
    object_hashes, classification_hashes = ontology_feature_hashes(store, project)
    for unit_hash, unit in labels["data_units"].items():
        for obj in _unit_objects(unit.get("labels") or {}):
            if obj.get("featureHash") not in object_hashes:
                raise invalid_arguments(
                    f"label row {label['label_hash']} data unit {unit_hash}: object {obj.get('objectHash')} "
                    f"has featureHash {obj.get('featureHash')!r} which is not an object of the project ontology"
                )
    for key, answer in (labels.get("classification_answers") or {}).items():
        if answer.get("featureHash") not in classification_hashes:
            raise invalid_arguments(
                f"label row {label['label_hash']}: classification {key} has featureHash {answer.get('featureHash')!r} "
                "which is not a classification of the project ontology"
            )


def store_labels(
    store: Store, project: dict[str, Any], label: dict[str, Any], labels: dict[str, Any]
) -> None:
    validate_labels(store, project, label, labels)
    label["content"] = {
        "units": {unit_hash: unit.get("labels") or {} for unit_hash, unit in labels["data_units"].items()},
        "object_answers": labels.get("object_answers") or {},
        "classification_answers": labels.get("classification_answers") or {},
        "object_actions": labels.get("object_actions") or {},
        "spaces": labels.get("spaces") or {},
    }
    label["last_edited_at"] = now_iso()
    store.put(LABEL_KIND, label["label_hash"], label)


@datasets.on_rows_removed
def _drop_labels_of_removed_data(store: Store, dataset_hash: str, data_hashes: list[str]) -> None:
    """Data that left a project takes its label rows with it (as in Encord, where deleting data deletes its
    labels)."""
    for project in projects.projects_with_dataset(store, dataset_hash):
        for data_hash in workflow.data_left_project(store, project, data_hashes):
            for label in store.query(LABEL_KIND, project_hash=project["project_hash"], data_hash=data_hash):
                store.delete(LABEL_KIND, label["label_hash"])

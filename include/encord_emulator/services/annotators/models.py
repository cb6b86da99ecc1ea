"""Simulated annotators: ``POST /admin/annotate`` labels and moves the tasks of a project's
annotate and review stages, deterministically, so a demo has labels to export.

Body ``{"project_hash": str, "max_tasks": int?, "seed": int = 0, "reject_every": int = 0,
"review": bool = true}``. Every annotate-stage task gets, per ontology object with a drawable
shape (bounding box, rotatable box, polygon, polyline, point), one instance with its radio /
checklist / text attributes answered, plus one answer per classification; the row is saved and the
task submitted. Then (``review``) every review-stage task is approved, except every
``reject_every``-th which is rejected back to annotation. The same seed gives the same labels.

Owns no document kind: labels are written through the labels model, task moves through the workflow model.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime
from typing import Any

from encord_emulator.core.errors import invalid_arguments
from encord_emulator.core.registry import AppState
from encord_emulator.core.store import Store
from encord_emulator.services.labels import models as labels
from encord_emulator.services.ontologies.models import ONTOLOGY_KIND
from encord_emulator.services.projects import models as projects
from encord_emulator.services.workflow import models as workflow
from encord_emulator.services.workflow.graph import stage_counts

ANNOTATOR_EMAIL = "simulated-annotator@emulator.local"
REVIEWER_EMAIL = "simulated-reviewer@emulator.local"
_DRAWABLE = {"bounding_box", "rotatable_bounding_box", "polygon", "polyline", "point"}


# ---------------------------------------------------------------- label synthesis


def _hash8(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:8]


def _value(name: str) -> str:
    return name.lower().replace(" ", "_")


def _long_time() -> str:
    return datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S UTC")


def _geometry(shape: str, rng: random.Random, width: int, height: int) -> dict[str, Any]:
    """Normalised coordinates snapped to whole pixels of a ``width`` x ``height`` image."""

    def px(value: int, size: int) -> float:
        return round(value / size, 6)

    w_px, h_px = (
        rng.randint(max(1, width // 8), max(2, width // 3)),
        rng.randint(max(1, height // 8), max(2, height // 3)),
    )
    x_px, y_px = rng.randint(0, width - w_px), rng.randint(0, height - h_px)
    box = {"h": px(h_px, height), "w": px(w_px, width), "x": px(x_px, width), "y": px(y_px, height)}
    corners = [(x_px, y_px), (x_px + w_px, y_px), (x_px + w_px // 2, y_px + h_px)]
    points = {str(i): {"x": px(x, width), "y": px(y, height)} for i, (x, y) in enumerate(corners)}
    if shape == "bounding_box":
        return {"boundingBox": box}
    if shape == "rotatable_bounding_box":
        return {"rotatableBoundingBox": {**box, "theta": float(rng.choice([0, 15, 30, 45]))}}
    if shape == "polygon":
        flat = [coord for point in points.values() for coord in (point["x"], point["y"])]
        return {"polygon": points, "polygons": [[flat]]}
    if shape == "polyline":
        return {"polyline": points}
    return {"point": {"0": points["0"]}}


def _answer(attribute: dict[str, Any], rng: random.Random) -> dict[str, Any] | None:
    base = {
        "name": attribute["name"],
        "value": _value(attribute["name"]),
        "featureHash": attribute["featureNodeHash"],
        "manualAnnotation": True,
    }
    options = attribute.get("options") or []
    if attribute["type"] == "radio" and options:
        option = rng.choice(options)
        return {
            **base,
            "answers": [
                {"name": option["label"], "value": option["value"], "featureHash": option["featureNodeHash"]}
            ],
        }
    if attribute["type"] == "checklist" and options:
        chosen = [option for option in options if rng.random() < 0.5] or options[:1]
        return {
            **base,
            "answers": [
                {"name": o["label"], "value": o["value"], "featureHash": o["featureNodeHash"]} for o in chosen
            ],
        }
    if attribute["type"] == "text":
        return {**base, "answers": f"note-{rng.randint(1, 999)}"}
    return None


def synthesise_labels(
    editor: dict[str, Any], data_hash: str, unit_hash: str, size: tuple[int, int], seed: int
) -> dict[str, Any]:
    """Objects, object answers and classification answers for one image (frame 0)."""
    rng = random.Random(f"{seed}:{data_hash}")
    stamp = _long_time()
    objects, object_answers = [], {}
    for obj in editor.get("objects", []):
        if obj["shape"] not in _DRAWABLE:
            continue
        object_hash = _hash8(seed, data_hash, obj["featureNodeHash"])
        objects.append(
            {
                "name": obj["name"],
                "color": obj["color"],
                "shape": obj["shape"],
                "value": _value(obj["name"]),
                "createdAt": stamp,
                "createdBy": ANNOTATOR_EMAIL,
                "confidence": 1.0,
                "objectHash": object_hash,
                "featureHash": obj["featureNodeHash"],
                "manualAnnotation": True,
                "lastEditedAt": stamp,
                **_geometry(obj["shape"], rng, *size),
            }
        )
        answers = [a for a in (_answer(attr, rng) for attr in obj.get("attributes", [])) if a is not None]
        object_answers[object_hash] = {"classifications": answers, "objectHash": object_hash}
    classification_answers = {}
    for classification in editor.get("classifications", []):
        answer = _answer(classification["attributes"][0], rng)
        if answer is None:
            continue
        classification_hash = _hash8(seed, data_hash, classification["featureNodeHash"])
        classification_answers[classification_hash] = {
            "classifications": [answer],
            "classificationHash": classification_hash,
            "featureHash": classification["featureNodeHash"],
            "spaces": {},
            "range": [[0, 0]],
            "createdBy": ANNOTATOR_EMAIL,
            "createdAt": stamp,
            "lastEditedBy": ANNOTATOR_EMAIL,
            "lastEditedAt": stamp,
            "confidence": 1.0,
            "manualAnnotation": True,
        }
    return {
        "data_hash": data_hash,
        "data_units": {unit_hash: {"labels": {"objects": objects, "classifications": []}}},
        "object_answers": object_answers,
        "classification_answers": classification_answers,
        "object_actions": {},
    }


# ---------------------------------------------------------------- passes over a project


def _tasks_in(store: Store, project: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    stage_uuids = {node["uuid"] for node in project["workflow"]["nodes"] if node["type"] == kind}
    tasks = [
        t for t in workflow.tasks_of_project(store, project["project_hash"]) if t["stage_uuid"] in stage_uuids
    ]
    return sorted(tasks, key=lambda t: (t["created_at"], t["uuid"]))


def annotate_pass(
    state: AppState, project: dict[str, Any], max_tasks: int | None, seed: int
) -> dict[str, int]:
    store = state.store
    editor = (store.get(ONTOLOGY_KIND, project["ontology_hash"]) or {}).get("editor") or {}
    tasks = _tasks_in(store, project, "annotate")[:max_tasks]
    views = {
        v["data_hash"]: v for v in projects.project_data(store, project, {t["data_hash"] for t in tasks})
    }
    counts = {"annotated": 0, "unlabelled": 0}
    for task in tasks:
        view = views.get(task["data_hash"])
        with store.transaction():
            if view is not None and view["data_type"] == "IMAGE":
                label = labels.create_label_row(store, project, task["data_hash"], labels.MAIN_BRANCH)
                size = (int(view["item"].get("width") or 640), int(view["item"].get("height") or 480))
                labels.store_labels(
                    store,
                    project,
                    label,
                    synthesise_labels(editor, task["data_hash"], task["data_hash"], size, seed),
                )
                counts["annotated"] += 1
            else:
                counts["unlabelled"] += 1  # only images are drawn on; other data still moves on
            workflow.submit(store, project, task, ANNOTATOR_EMAIL)
    return counts


def review_pass(
    state: AppState, project: dict[str, Any], max_tasks: int | None, reject_every: int
) -> dict[str, int]:
    store = state.store
    counts = {"approved": 0, "rejected": 0}
    for index, task in enumerate(_tasks_in(store, project, "review")[:max_tasks], start=1):
        approve = not (reject_every and index % reject_every == 0)
        with store.transaction():
            workflow.review(store, project, task, approve, REVIEWER_EMAIL)
        counts["approved" if approve else "rejected"] += 1
    return counts


def run_annotators(state: AppState, body: dict[str, Any]) -> dict[str, Any]:
    project_hash = str(body.get("project_hash") or "")
    if not project_hash:
        raise invalid_arguments("annotate needs 'project_hash'")
    max_tasks = body.get("max_tasks")
    if max_tasks is not None and (not isinstance(max_tasks, int) or max_tasks < 1):
        raise invalid_arguments(f"max_tasks must be a positive integer, got {max_tasks!r}")
    project = projects.get_project_doc(state.store, project_hash)
    result: dict[str, Any] = annotate_pass(state, project, max_tasks, int(body.get("seed", 0)))
    if body.get("review", True):
        result.update(review_pass(state, project, max_tasks, int(body.get("reject_every", 0))))
    result["stages"] = stage_counts(project["workflow"], workflow.tasks_of_project(state.store, project_hash))
    return result

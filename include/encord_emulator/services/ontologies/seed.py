"""Seed section of the ontologies service: ``ontologies``.

Seeds may give the ``editor`` dict verbatim or a compact spec (objects with ``shape``/``attributes``,
classifications with ``type``/``options``) which ``build_editor`` expands with deterministic feature
hashes, so re-applying a seed is idempotent.
"""

from __future__ import annotations

from typing import Any

from encord_emulator.core.registry import AppState, register_seed_section
from encord_emulator.core.seed import SeedError, entries
from encord_emulator.services.ontologies.models import (
    ATTRIBUTE_TYPES,
    SHAPES,
    feature_hash,
    ontology_uuid_for,
    put_ontology,
)

_PALETTE = ["#D33115", "#E27300", "#16406C", "#FE9200", "#FCDC00", "#DBDF00", "#A4DD00", "#68BC00", "#0C797D"]


# ---------------------------------------------------------------- compact spec -> editor


def build_editor(spec: dict[str, Any], ontology_uuid: str) -> dict[str, Any]:
    """Expand a compact ontology spec into the editor structure (see docs/emulator-projects.md)."""
    objects: list[dict[str, Any]] = []
    templates: list[dict[str, Any]] = []
    for index, obj_spec in enumerate(spec.get("objects") or [], start=1):
        obj, template = _build_object(obj_spec, index, ontology_uuid)
        objects.append(obj)
        if template is not None:
            templates.append({"template": template})
    classifications = [
        _build_classification(cls_spec, index, ontology_uuid)
        for index, cls_spec in enumerate(spec.get("classifications") or [], start=1)
    ]
    return {"objects": objects, "classifications": classifications, "skeleton_templates": templates}


def _build_object(spec: Any, index: int, ontology_uuid: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    if not isinstance(spec, dict) or not spec.get("name"):
        raise ValueError(f"object #{index}: needs a 'name'")
    name = str(spec["name"])
    shape = str(spec.get("shape", "bounding_box"))
    if shape not in SHAPES:
        raise ValueError(f"object {name!r}: unknown shape {shape!r}; known {sorted(SHAPES)}")
    node_hash = str(spec.get("feature_hash") or feature_hash(ontology_uuid, "object", name))
    obj: dict[str, Any] = {
        "id": str(index),
        "name": name,
        "color": str(spec.get("color") or _PALETTE[(index - 1) % len(_PALETTE)]),
        "shape": shape,
        "featureNodeHash": node_hash,
        "required": bool(spec.get("required", False)),
        "archived": False,
    }
    attributes = _build_attributes(
        spec.get("attributes") or [], str(index), ontology_uuid, f"object {name!r}"
    )
    if attributes:
        obj["attributes"] = attributes
    template = _build_skeleton_template(spec, name, node_hash, ontology_uuid) if shape == "skeleton" else None
    return obj, template


def _build_skeleton_template(
    spec: dict[str, Any], name: str, node_hash: str, ontology_uuid: str
) -> dict[str, Any]:
    keypoints = spec.get("keypoints")
    if not isinstance(keypoints, list) or not keypoints:
        raise ValueError(f"skeleton object {name!r}: needs a non-empty 'keypoints' list")
    count = len(keypoints)
    skeleton = {
        str(i): {
            "x": round((i + 1) / (count + 1), 4),
            "y": 0.5,
            "name": str(point),
            "color": "#000000",
            "value": str(point).lower().replace(" ", "_"),
            "featureHash": feature_hash(ontology_uuid, "skeleton", name, str(point)),
        }
        for i, point in enumerate(keypoints)
    }
    position = {str(point): str(i) for i, point in enumerate(keypoints)}
    edges: dict[str, dict[str, dict[str, str]]] = {}
    for edge in spec.get("edges") or []:
        start, end = (str(edge[0]), str(edge[1]))
        if start not in position or end not in position:
            raise ValueError(f"skeleton object {name!r}: edge {edge} names an unknown keypoint")
        edges.setdefault(position[start], {})[position[end]] = {"color": "#000000"}
    return {
        "name": name,
        "width": 1.0,
        "height": 1.0,
        "skeleton": skeleton,
        "skeletonEdges": edges,
        "feature_node_hash": node_hash,
        "shape": "skeleton",
    }


def _build_classification(spec: Any, index: int, ontology_uuid: str) -> dict[str, Any]:
    if not isinstance(spec, dict) or not spec.get("name"):
        raise ValueError(f"classification #{index}: needs a 'name'")
    name = str(spec["name"])
    attribute = _build_attribute(spec, f"{index}.1", ontology_uuid, f"classification {name!r}")
    return {
        "id": str(index),
        "featureNodeHash": str(
            spec.get("feature_hash") or feature_hash(ontology_uuid, "classification", name)
        ),
        "attributes": [attribute],
    }


def _build_attributes(specs: Any, parent_id: str, ontology_uuid: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(specs, list):
        raise ValueError(f"{where}: 'attributes' must be a list")
    return [
        _build_attribute(spec, f"{parent_id}.{i}", ontology_uuid, where)
        for i, spec in enumerate(specs, start=1)
    ]


def _build_attribute(spec: dict[str, Any], attr_id: str, ontology_uuid: str, where: str) -> dict[str, Any]:
    if not isinstance(spec, dict) or not spec.get("name"):
        raise ValueError(f"{where}: attribute {attr_id} needs a 'name'")
    name = str(spec["name"])
    kind = str(spec.get("type", "radio"))
    if kind not in ATTRIBUTE_TYPES:
        raise ValueError(
            f"{where}: attribute {name!r} has unknown type {kind!r}; known {sorted(ATTRIBUTE_TYPES)}"
        )
    attribute: dict[str, Any] = {
        "id": attr_id,
        "name": name,
        "type": kind,
        "featureNodeHash": str(
            spec.get("feature_hash") or feature_hash(ontology_uuid, "attribute", where, name)
        ),
        "required": bool(spec.get("required", False)),
        "archived": False,
        "dynamic": bool(spec.get("dynamic", False)),
    }
    if kind in ("radio", "checklist"):
        options = spec.get("options") or []
        if not options:
            raise ValueError(f"{where}: {kind} attribute {name!r} needs 'options'")
        attribute["options"] = [
            _build_option(option, f"{attr_id}.{i}", ontology_uuid, f"{where}/{name}")
            for i, option in enumerate(options, start=1)
        ]
    return attribute


def _build_option(spec: Any, option_id: str, ontology_uuid: str, where: str) -> dict[str, Any]:
    option_spec = spec if isinstance(spec, dict) else {"label": spec}
    label = str(option_spec.get("label") or option_spec.get("name") or "")
    if not label:
        raise ValueError(f"{where}: option {option_id} needs a label")
    option: dict[str, Any] = {
        "id": option_id,
        "label": label,
        "value": str(option_spec.get("value") or label.lower().replace(" ", "_")),
        "featureNodeHash": feature_hash(ontology_uuid, "option", where, label),
        "archived": False,
    }
    nested = option_spec.get("attributes")
    if nested:
        option["options"] = _build_attributes(nested, option_id, ontology_uuid, f"{where}/{label}")
    return option


# ---------------------------------------------------------------- seed


def _seed_ontologies(state: AppState, value: Any) -> None:
    for index, entry in enumerate(entries("ontologies", value)):
        title = entry.get("title")
        if not title:
            raise SeedError(f"seed section 'ontologies' entry #{index}: missing 'title'")
        ontology_uuid = str(entry.get("uuid") or ontology_uuid_for(str(title)))
        try:
            editor = entry["editor"] if "editor" in entry else build_editor(entry, ontology_uuid)
            put_ontology(state.store, ontology_uuid, str(title), str(entry.get("description") or ""), editor)
        except ValueError as exc:
            raise SeedError(f"seed section 'ontologies' entry #{index} ({title}): {exc}") from exc


register_seed_section("ontologies", _seed_ontologies)

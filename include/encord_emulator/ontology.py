"""Ontologies: ``GET/POST /v2/public/ontologies`` and the ``ontologies`` seed section.

An ontology document (kind ``ontology``, id = uuid) holds the editor structure exactly as the SDK's
``OntologyStructure.from_dict`` reads it. Seeds may give that ``editor`` dict verbatim or a compact
spec (objects with ``shape``/``attributes``, classifications with ``type``/``options``) which
``build_editor`` expands with deterministic feature hashes, so re-applying a seed is idempotent.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from encord_emulator.common import check_page_size, filter_listing, keyset_page, now_iso
from encord_emulator.errors import invalid_arguments, not_found
from encord_emulator.registry import AppState, RequestContext, current_context, register_seed_section
from encord_emulator.seed import SeedError, entries
from encord_emulator.store import Store

ONTOLOGY_KIND = "ontology"
SHAPES = {
    "bounding_box",
    "rotatable_bounding_box",
    "polygon",
    "polyline",
    "point",
    "skeleton",
    "bitmask",
    "audio",
    "text",
}
ATTRIBUTE_TYPES = {"radio", "checklist", "text", "numeric"}
_PALETTE = ["#D33115", "#E27300", "#16406C", "#FE9200", "#FCDC00", "#DBDF00", "#A4DD00", "#68BC00", "#0C797D"]
_NAMESPACE = uuid.UUID("6f0e1a52-6d3b-4d8e-9a59-0c1e2d3f4a5b")

router = APIRouter()
Ctx = Annotated[RequestContext, Depends(current_context)]


class CreateOntologyBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    title: str
    description: str = ""
    editor: dict[str, Any] = Field(default_factory=dict)


def ontology_uuid_for(title: str) -> str:
    """The uuid a seeded ontology gets when the seed names none (stable across re-seeding)."""
    return str(uuid.uuid5(_NAMESPACE, f"ontology:{title}"))


def feature_hash(*parts: str) -> str:
    """8-character feature node hash, deterministic in ``parts`` (same alphabet as Encord's)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return base64.b64encode(digest)[:8].decode("ascii")


def ontology_dto(doc: dict[str, Any]) -> dict[str, Any]:
    """``OntologyWithUserRole`` (every field present)."""
    return {
        "ontologyUuid": doc["uuid"],
        "title": doc["title"],
        "description": doc.get("description") or "",
        "editor": doc["editor"],
        "createdAt": doc["created_at"],
        "lastEditedAt": doc["last_edited_at"],
        "userRole": 0,
    }


def get_ontology_doc(store: Store, ontology_hash: str) -> dict[str, Any]:
    doc = store.get(ONTOLOGY_KIND, ontology_hash)
    if doc is None:
        raise not_found(f"ontology {ontology_hash} does not exist")
    return doc


def find_ontology(store: Store, ref: str) -> dict[str, Any] | None:
    """An ontology by uuid or by title."""
    return store.get(ONTOLOGY_KIND, ref) or next(iter(store.query(ONTOLOGY_KIND, title=ref)), None)


def put_ontology(
    store: Store, ontology_uuid: str, title: str, description: str, editor: dict[str, Any]
) -> dict[str, Any]:
    validate_editor(editor, where=f"ontology {title!r}")
    existing = store.get(ONTOLOGY_KIND, ontology_uuid) or {}
    stamp = now_iso()
    doc = {
        "uuid": ontology_uuid,
        "title": title,
        "description": description,
        "editor": editor,
        "created_at": existing.get("created_at") or stamp,
        "last_edited_at": stamp,
    }
    store.put(ONTOLOGY_KIND, ontology_uuid, doc)
    return doc


def validate_editor(editor: Any, where: str) -> None:
    """The checks the SDK would otherwise fail on much later, with a message naming the element."""
    if not isinstance(editor, dict) or not isinstance(editor.get("objects"), list):
        raise ValueError(f"{where}: editor must be a mapping with 'objects' and 'classifications' lists")
    if not isinstance(editor.get("classifications"), list):
        raise ValueError(f"{where}: editor must have a 'classifications' list")
    for index, obj in enumerate(editor["objects"]):
        for key in ("id", "name", "shape", "featureNodeHash"):
            if key not in obj:
                raise ValueError(f"{where}: object #{index} lacks {key!r}")
        if obj["shape"] not in SHAPES:
            raise ValueError(
                f"{where}: object {obj['name']!r} has unknown shape {obj['shape']!r}; known {sorted(SHAPES)}"
            )


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


# ---------------------------------------------------------------- v2 routes


@router.get("/ontologies")
def list_ontologies(request: Request, ctx: Ctx) -> dict[str, Any]:
    """``user_client.get_ontologies(title_eq=, title_like=, desc_eq=, ..., edited_after=)``.

    A ``Page``: the SDK (0.1.211) reads only the first page and sends no ``pageSize``, so without one
    every match is on that page; with ``pageSize`` it is keyset-paged by title like the other listings.
    """
    params = request.query_params
    matches = filter_listing(ctx.store.query(ONTOLOGY_KIND), params)
    page_size = check_page_size(int(params["pageSize"])) if params.get("pageSize") else max(len(matches), 1)
    page = keyset_page(matches, "title", page_size, params.get("pageToken"))
    return {"results": [ontology_dto(doc) for doc in page["results"]], "nextPageToken": page["nextPageToken"]}


@router.get("/ontologies/{ontology_hash}")
def get_ontology(ontology_hash: str, ctx: Ctx) -> dict[str, Any]:
    return ontology_dto(get_ontology_doc(ctx.store, ontology_hash))


@router.put("/ontologies/{ontology_hash}")
def save_ontology(ontology_hash: str, body: CreateOntologyBody, ctx: Ctx) -> None:
    """``ontology.save()``: title, description and structure replaced; projects see the new structure."""
    get_ontology_doc(ctx.store, ontology_hash)
    try:
        put_ontology(ctx.store, ontology_hash, body.title, body.description, body.editor)
    except ValueError as exc:
        raise invalid_arguments(str(exc)) from exc


@router.post("/ontologies")
def create_ontology(body: CreateOntologyBody, ctx: Ctx) -> dict[str, Any]:
    editor = body.editor or {"objects": [], "classifications": []}
    try:
        doc = put_ontology(ctx.store, str(uuid.uuid4()), body.title, body.description, editor)
    except ValueError as exc:
        raise invalid_arguments(str(exc)) from exc
    return ontology_dto(doc)


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

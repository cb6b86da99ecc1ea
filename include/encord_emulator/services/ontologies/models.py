"""Ontology documents: the only writer of kind ``ontology`` (id = uuid), which holds the editor structure
exactly as the SDK's ``OntologyStructure.from_dict`` reads it."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from encord_emulator.core.common import now_iso
from encord_emulator.core.errors import not_found
from encord_emulator.core.store import Store

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
_NAMESPACE = uuid.UUID("6f0e1a52-6d3b-4d8e-9a59-0c1e2d3f4a5b")


def ontology_uuid_for(title: str) -> str:
    """The uuid a seeded ontology gets when the seed names none (stable across re-seeding)."""
    return str(uuid.uuid5(_NAMESPACE, f"ontology:{title}"))


def feature_hash(*parts: str) -> str:
    """8-character feature node hash, deterministic in ``parts`` (same alphabet as Encord's)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return base64.b64encode(digest)[:8].decode("ascii")


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
        _require(obj, ("id", "name", "shape", "featureNodeHash"), f"{where}: object #{index}")
        if obj["shape"] not in SHAPES:
            raise ValueError(
                f"{where}: object {obj['name']!r} has unknown shape {obj['shape']!r}; known {sorted(SHAPES)}"
            )
        _validate_attributes(obj.get("attributes") or [], f"{where}: object {obj['name']!r}")
    for index, node in enumerate(editor["classifications"]):
        _require(node, ("id", "featureNodeHash"), f"{where}: classification #{index}")
        if not node.get("attributes"):
            raise ValueError(f"{where}: classification #{index} has no attribute (its question)")
        _validate_attributes(node["attributes"], f"{where}: classification #{index}")


def _validate_attributes(attributes: Any, where: str) -> None:
    """What the SDK's ``Attribute.from_dict`` needs, on every level of nesting (radio options nest)."""
    if not isinstance(attributes, list):
        raise ValueError(f"{where}: 'attributes' must be a list")
    for index, attribute in enumerate(attributes):
        _require(attribute, ("id", "name", "type", "featureNodeHash"), f"{where}: attribute #{index}")
        if attribute["type"] not in ATTRIBUTE_TYPES:
            raise ValueError(
                f"{where}: attribute {attribute['name']!r} has unknown type {attribute['type']!r}; "
                f"known {sorted(ATTRIBUTE_TYPES)}"
            )
        for option in attribute.get("options") or []:
            _require(
                option, ("id", "label", "featureNodeHash"), f"{where}: an option of {attribute['name']!r}"
            )
            _validate_attributes(
                option.get("options") or [], f"{where}/{attribute['name']}/{option['label']}"
            )


def _require(node: Any, keys: tuple[str, ...], what: str) -> None:
    missing = [key for key in keys if not isinstance(node, dict) or key not in node]
    if missing:
        raise ValueError(f"{what} lacks {missing[0]!r}")

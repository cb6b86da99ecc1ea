"""`OntologyConfig` -> the SDK's `OntologyStructure`, and the comparable outline of any structure.

The outline keeps what a user declares (names, shapes, required flags, attribute types, option labels,
nesting, skeleton keypoints) and drops what Encord assigns (feature hashes, uids, colours unless set), so
a created ontology and the config it came from have the same outline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from encord_provider.config.ontology import AttributeConfig, ObjectConfig, OntologyConfig

if TYPE_CHECKING:
    from encord.objects.ontology_structure import OntologyStructure

Outline = dict[str, Any]


def build_structure(config: OntologyConfig) -> OntologyStructure:
    """The SDK structure `create_ontology` sends for this config."""
    from encord.objects.ontology_structure import OntologyStructure

    structure = OntologyStructure()
    for obj in config.objects:
        _add_object(structure, obj)
    for classification in config.classifications:
        node = structure.add_classification()
        _add_attribute(node, classification.as_attribute())
    return structure


def _add_object(structure: OntologyStructure, config: ObjectConfig) -> None:
    from encord.objects.common import Shape

    if config.shape == "skeleton":
        obj, _ = structure.add_skeleton_object(config.name, _skeleton_template(config), color=config.color)
    else:
        obj = structure.add_object(config.name, Shape(config.shape), color=config.color)
    obj.required = config.required
    for attribute in config.attributes:
        _add_attribute(obj, attribute)


def _skeleton_template(config: ObjectConfig) -> Any:
    from encord.objects.skeleton_template import SkeletonTemplate, SkeletonTemplateCoordinate

    count = len(config.keypoints)
    position = {name: str(i) for i, name in enumerate(config.keypoints)}
    edges: dict[str, dict[str, dict[str, str]]] = {}
    for start, end in config.edges:
        edges.setdefault(position[start], {})[position[end]] = {"color": "#000000"}
    points = {
        str(i): SkeletonTemplateCoordinate(x=round((i + 1) / (count + 1), 4), y=0.5, name=name, value=name)
        for i, name in enumerate(config.keypoints)
    }
    return SkeletonTemplate(name=config.name, width=1.0, height=1.0, skeleton=points, skeleton_edges=edges)


def _add_attribute(parent: Any, config: AttributeConfig) -> None:
    """`parent` is an object, a classification or a radio option (`add_nested_attribute`)."""
    from encord.objects.attributes import ChecklistAttribute, RadioAttribute, TextAttribute

    kind = {"radio": RadioAttribute, "checklist": ChecklistAttribute, "text": TextAttribute}[config.type]
    add = getattr(parent, "add_nested_attribute", None) or parent.add_attribute
    attribute = add(kind, config.name, required=config.required)
    for option_config in config.options:
        option = attribute.add_option(option_config.label)
        for nested in option_config.attributes:
            _add_attribute(option, nested)


# ---------------------------------------------------------------- outline


def outline(editor: dict[str, Any]) -> Outline:
    """The comparable outline of an editor dict (`OntologyStructure.to_dict()` or Encord's `editor`)."""
    keypoints = {
        str(entry["template"].get("name")): _keypoints(entry["template"])
        for entry in editor.get("skeleton_templates") or []
        if isinstance(entry, dict) and isinstance(entry.get("template"), dict)
    }
    objects = {}
    for obj in editor.get("objects") or []:
        name = str(obj.get("name"))
        objects[name] = {
            "shape": str(obj.get("shape")),
            "required": bool(obj.get("required", False)),
            "attributes": _attributes(obj.get("attributes") or []),
            **({"keypoints": keypoints.get(name, [])} if obj.get("shape") == "skeleton" else {}),
        }
    classifications = {}
    for node in editor.get("classifications") or []:
        for attribute in node.get("attributes") or []:
            classifications[str(attribute.get("name"))] = _attribute(attribute)
    return {"objects": objects, "classifications": classifications}


def _keypoints(template: dict[str, Any]) -> list[str]:
    points = template.get("skeleton") or {}
    return [
        str(points[key].get("name")) for key in sorted(points, key=lambda k: int(k) if k.isdigit() else k)
    ]


def _attributes(attributes: list[dict[str, Any]]) -> Outline:
    return {str(attribute.get("name")): _attribute(attribute) for attribute in attributes}


def _attribute(attribute: dict[str, Any]) -> Outline:
    options = {
        str(option.get("label")): {"attributes": _attributes(option.get("options") or [])}
        for option in attribute.get("options") or []
    }
    return {
        "type": str(attribute.get("type")),
        "required": bool(attribute.get("required", False)),
        "options": options,
    }


def config_outline(config: OntologyConfig) -> Outline:
    """The outline of what `build_structure(config)` creates."""
    return outline(build_structure(config).to_dict())

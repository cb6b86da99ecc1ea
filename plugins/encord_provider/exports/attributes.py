"""Attribute answers of objects and classifications, flattened by their ontology type.

An Encord answer list looks the same for a radio and a checklist (`[{"name", "value", "featureHash"}]`),
so only the ontology tells them apart. The rules, the same in COCO `attributes` and in the flat table:

- checklist: always a list of the ticked option names (`[]` when none is ticked);
- radio: the chosen option name, or None;
- text: the string, or None; numeric: the number, or None.

Every top-level attribute of an object or classification is present (with its empty value when it was
not answered); a nested attribute appears only when its parent option was chosen. Keys are attribute
names; when one ontology element has two attributes with the same name (typically nested under different
options), those are keyed by their path `parent/option/name` so that neither answer is lost.
Dynamic (per-frame) object attributes come from `object_actions` and hold the value of the frame asked for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

CHECKLIST = "checklist"
RADIO = "radio"


@dataclass(frozen=True, slots=True)
class AttributeInfo:
    key: str
    kind: str
    dynamic: bool
    top_level: bool


def _walk(
    attributes: list[dict[str, Any]], path: tuple[str, ...], top: bool
) -> list[tuple[tuple[str, ...], dict[str, Any], bool]]:
    found: list[tuple[tuple[str, ...], dict[str, Any], bool]] = []
    for attribute in attributes or []:
        if not isinstance(attribute, dict):
            continue
        name = str(attribute.get("name") or attribute.get("featureNodeHash"))
        found.append(((*path, name), attribute, top))
        for option in attribute.get("options") or []:
            if isinstance(option, dict) and option.get("options"):
                label = str(option.get("label") or option.get("value") or option.get("featureNodeHash"))
                found += _walk(option["options"], (*path, name, label), False)
    return found


def _element_attributes(attributes: list[dict[str, Any]]) -> dict[str, AttributeInfo]:
    walked = _walk(attributes, (), True)
    name_counts = Counter(path[-1] for path, _, _ in walked)
    infos: dict[str, AttributeInfo] = {}
    for path, attribute, top in walked:
        key = path[-1] if name_counts[path[-1]] == 1 else "/".join(path)
        infos[str(attribute.get("featureNodeHash"))] = AttributeInfo(
            key, str(attribute.get("type") or ""), bool(attribute.get("dynamic")), top
        )
    return infos


def _option_names(answers: list[Any]) -> list[Any]:
    return [a.get("name") or a.get("value") for a in answers if isinstance(a, dict)]


def answer_value(kind: str, answers: Any) -> Any:
    """One attribute's answer in the exported form for its ontology type (see the module docstring)."""
    if kind == CHECKLIST:
        return _option_names(answers) if isinstance(answers, list) else []
    if kind == RADIO:
        names = _option_names(answers) if isinstance(answers, list) else []
        return names[0] if names else None
    if isinstance(answers, list):  # an attribute the ontology does not know: keep every value
        return _option_names(answers)
    return answers


def _empty_value(kind: str) -> Any:
    return [] if kind == CHECKLIST else None


class AttributeIndex:
    """The attributes of every object and classification of one ontology, by feature hash."""

    def __init__(self, ontology: dict[str, Any]) -> None:
        self._by_element: dict[str, dict[str, AttributeInfo]] = {}
        self._names: dict[str, str] = {}
        # (element hash, dynamic) -> the (key, kind) of its top-level attributes, present in every answer dict
        self._defaults: dict[tuple[str, bool], list[tuple[str, str]]] = {}
        for element in [*(ontology.get("objects") or []), *(ontology.get("classifications") or [])]:
            if not isinstance(element, dict):
                continue
            element_hash = str(element.get("featureNodeHash"))
            attributes = element.get("attributes") or []
            infos = self._by_element[element_hash] = _element_attributes(attributes)
            for dynamic in (False, True):
                self._defaults[(element_hash, dynamic)] = [
                    (i.key, i.kind) for i in infos.values() if i.top_level and i.dynamic == dynamic
                ]
            first = next((a for a in attributes if isinstance(a, dict)), {})
            self._names[element_hash] = str(element.get("name") or first.get("name") or "")

    def element_name(self, element_hash: str | None) -> str | None:
        """An object's name, or a classification's question (its top-level attribute's name)."""
        return self._names.get(str(element_hash)) or None

    def _flatten(
        self, element_hash: str | None, answers: list[dict[str, Any]], dynamic: bool
    ) -> dict[str, Any]:
        infos = self._by_element.get(str(element_hash), {})
        flat = {key: _empty_value(kind) for key, kind in self._defaults.get((str(element_hash), dynamic), ())}
        for answer in answers:
            if not isinstance(answer, dict):
                continue
            info = infos.get(str(answer.get("featureHash")))
            key = info.key if info else str(answer.get("name"))
            flat[key] = answer_value(info.kind if info else "", answer.get("answers"))
        return flat

    def static_answers(self, element_hash: str | None, answers: list[dict[str, Any]]) -> dict[str, Any]:
        """The non-dynamic attributes of an object (`object_answers[h]["classifications"]`) or a
        classification (`classification_answers[h]["classifications"]`)."""
        return self._flatten(element_hash, answers, dynamic=False)

    def object_attributes(
        self, row: dict[str, Any], obj: dict[str, Any], frame: int | None
    ) -> dict[str, Any]:
        """Static answers of `obj`, plus its dynamic answers at `frame` (None: the object has no frames)."""
        object_hash = obj.get("objectHash")
        element_hash = obj.get("featureHash")
        static = ((row.get("object_answers") or {}).get(object_hash) or {}).get("classifications") or []
        flat = self.static_answers(element_hash, static)
        if not self._defaults.get((str(element_hash), True)) and not (row.get("object_actions") or {}).get(
            object_hash
        ):
            return flat
        actions = ((row.get("object_actions") or {}).get(object_hash) or {}).get("actions") or []
        at_frame = [a for a in actions if frame is not None and _covers(a.get("range"), frame)]
        flat.update(self._flatten(element_hash, at_frame, dynamic=True))
        return flat


def _covers(ranges: Any, frame: int) -> bool:
    for pair in ranges or []:
        if isinstance(pair, list | tuple) and len(pair) == 2 and int(pair[0]) <= frame <= int(pair[1]):
            return True
    return False

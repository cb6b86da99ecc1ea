"""Ontologies and workflow templates declared in the pipelines file (`ontologies:`, `workflow_templates:`).

An ontology is what the Encord editor's "New ontology" dialog builds: objects (a name, a shape, optional
attributes) and classifications (a radio, checklist or text question). Attributes nest under radio
options, as in the editor. The guide's examples, written in this file:

    ontologies:
      - title: Fruit
        objects:
          - {name: Apple, shape: polygon,
             attributes: [{name: Color, type: radio, options: [Red, Green, Yellow]}]}
        classifications:
          - {name: Time of day, type: radio, options: [Night, Day]}

Plain pydantic, no Airflow and no SDK: `encord_provider.projects.structure` turns these into the SDK's
`OntologyStructure`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ShapeName = Literal[
    "bounding_box", "rotatable_bounding_box", "polygon", "polyline", "point", "bitmask", "skeleton", "audio", "text"
]  # fmt: skip
AttributeKind = Literal["radio", "checklist", "text"]
OnDrift = Literal["report", "fail"]
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_COLOR = r"^#[0-9A-Fa-f]{6}$"
Name = Field(min_length=1, max_length=300)


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def _duplicates(names: list[str]) -> list[str]:
    return sorted({name for name in names if names.count(name) > 1})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OptionConfig(_Strict):
    """One answer of a radio or checklist question; a radio option may open nested questions."""

    label: str = Name
    attributes: list[AttributeConfig] = Field(
        default_factory=list, description="Nested questions shown when this radio option is chosen."
    )

    @field_validator("attributes")
    @classmethod
    def _unique(cls, value: list[AttributeConfig]) -> list[AttributeConfig]:
        return _unique_attributes(value)


def _as_option(value: object) -> object:
    """`options: [Red, Green]` is short for `options: [{label: Red}, {label: Green}]`."""
    return {"label": value} if isinstance(value, str | int | float) and not isinstance(value, bool) else value


class AttributeConfig(_Strict):
    """A question: `text` (free text, the editor's default), `radio` (one option) or `checklist` (any)."""

    name: str = Name
    type: AttributeKind = "text"
    required: bool = False
    options: list[OptionConfig] = Field(default_factory=list)

    @field_validator("options", mode="before")
    @classmethod
    def _short_options(cls, value: object) -> object:
        return [_as_option(option) for option in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _check_options(self) -> AttributeConfig:
        if self.type == "text" and self.options:
            raise ValueError(
                f"attribute {self.name!r}: a text attribute has no options; use type radio or checklist"
            )
        if self.type != "text" and not self.options:
            raise ValueError(f"attribute {self.name!r}: a {self.type} attribute needs at least one option")
        labels = [option.label for option in self.options]
        if _duplicates(labels):
            raise ValueError(f"attribute {self.name!r}: duplicate options {_duplicates(labels)}")
        if self.type == "checklist" and any(option.attributes for option in self.options):
            raise ValueError(f"attribute {self.name!r}: only radio options can have nested attributes")
        return self


def _unique_attributes(attributes: list[AttributeConfig]) -> list[AttributeConfig]:
    names = [attribute.name for attribute in attributes]
    if _duplicates(names):
        raise ValueError(f"duplicate attribute names {_duplicates(names)}")
    return attributes


class ObjectConfig(_Strict):
    """A thing to outline in the editor: its name, shape and attributes."""

    name: str = Name
    shape: ShapeName
    required: bool = False
    color: str | None = Field(
        None, pattern=_COLOR, description="Editor colour '#RRGGBB'; default: Encord's palette."
    )
    attributes: list[AttributeConfig] = Field(default_factory=list)
    keypoints: list[str] = Field(
        default_factory=list, description="Skeleton only: the keypoint names, in order."
    )
    edges: list[tuple[str, str]] = Field(default_factory=list, description="Skeleton only: keypoint pairs.")

    @field_validator("attributes")
    @classmethod
    def _unique(cls, value: list[AttributeConfig]) -> list[AttributeConfig]:
        return _unique_attributes(value)

    @model_validator(mode="after")
    def _check_skeleton(self) -> ObjectConfig:
        if self.shape != "skeleton":
            if self.keypoints or self.edges:
                raise ValueError(f"object {self.name!r}: keypoints and edges belong to shape skeleton only")
            return self
        if not self.keypoints:
            raise ValueError(f"skeleton object {self.name!r} needs 'keypoints' (a list of names)")
        if _duplicates(self.keypoints):
            raise ValueError(
                f"skeleton object {self.name!r}: duplicate keypoints {_duplicates(self.keypoints)}"
            )
        unknown = sorted({point for edge in self.edges for point in edge} - set(self.keypoints))
        if unknown:
            raise ValueError(f"skeleton object {self.name!r}: edges name unknown keypoints {unknown}")
        return self


class ClassificationConfig(AttributeConfig):
    """A question about the whole frame or file, e.g. "Time of day" with options Night and Day. In Encord a
    classification is a node holding one attribute with the same name, hence the same fields and rules."""

    def as_attribute(self) -> AttributeConfig:
        return AttributeConfig(name=self.name, type=self.type, required=self.required, options=self.options)


class OntologyConfig(_Strict):
    """An ontology, found by title in Encord or created with this structure."""

    title: str = Name
    description: str = ""
    objects: list[ObjectConfig] = Field(default_factory=list)
    classifications: list[ClassificationConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> OntologyConfig:
        if not self.objects and not self.classifications:
            raise ValueError(f"ontology {self.title!r} needs at least one object or classification")
        for what, names in (
            ("objects", [o.name for o in self.objects]),
            ("classifications", [c.name for c in self.classifications]),
        ):
            if _duplicates(names):
                raise ValueError(f"ontology {self.title!r}: duplicate {what} {_duplicates(names)}")
        return self


class WorkflowTemplateConfig(_Strict):
    """A workflow template made in the Encord app (Projects > Templates). The SDK creates projects from a
    template's hash but cannot list templates, so the file names each one once: projects then refer to it
    by `title`. `stages` (optional) are the template's stage titles, checked on every project found."""

    title: str = Name
    hash: str = Field(description="The template ID shown in the Encord app.")
    stages: list[str] | None = Field(
        None, description="Stage titles of the template, e.g. [Annotate 1, Review 1, Complete]."
    )

    @field_validator("hash")
    @classmethod
    def _check_hash(cls, value: str) -> str:
        if not is_uuid(value):
            raise ValueError(
                f"workflow template hash {value!r} is not a uuid (copy the template ID from the app)"
            )
        return value.lower()


OptionConfig.model_rebuild()

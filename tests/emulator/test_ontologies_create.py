"""create_ontology through the real SDK: every shape, nested attributes and skeleton templates round-trip
exactly, and an editor the SDK could not read back is refused with the element named."""

from __future__ import annotations

import uuid

import pytest
from encord.exceptions import EncordException
from encord.objects.attributes import ChecklistAttribute, RadioAttribute, TextAttribute
from encord.objects.common import Shape
from encord.objects.ontology_structure import OntologyStructure
from encord.objects.skeleton_template import SkeletonTemplate, SkeletonTemplateCoordinate
from encord.orm.ontology import CreateOrUpdateOntologyPayload
from encord.user_client import EncordUserClient
from encord.utilities.ontology_user import OntologyWithUserRole


def _every_kind() -> OntologyStructure:
    structure = OntologyStructure()
    for shape in (
        Shape.BOUNDING_BOX,
        Shape.ROTATABLE_BOUNDING_BOX,
        Shape.POLYLINE,
        Shape.POINT,
        Shape.BITMASK,
    ):
        structure.add_object(shape.value, shape)
    apple = structure.add_object("Apple", Shape.POLYGON)
    apple.required = True
    color = apple.add_attribute(RadioAttribute, "Color", required=True)
    color.add_option("Red")
    color.add_option("Green").add_nested_attribute(TextAttribute, "Shade")
    apple.add_attribute(ChecklistAttribute, "Defects").add_option("Bruise")
    points = {
        str(i): SkeletonTemplateCoordinate(x=0.1 * (i + 1), y=0.5, name=n) for i, n in enumerate(["a", "b"])
    }
    template = SkeletonTemplate(
        name="Picker", width=1.0, height=1.0, skeleton=points, skeleton_edges={"0": {"1": {}}}
    )
    structure.add_skeleton_object("Picker", template)
    time_of_day = structure.add_classification().add_attribute(RadioAttribute, "Time of day")
    for label in ("Night", "Day"):
        time_of_day.add_option(label)
    structure.add_classification().add_attribute(TextAttribute, "Notes")
    return structure


def test_every_shape_and_nesting_round_trips(encord_client: EncordUserClient) -> None:
    title = f"everything-{uuid.uuid4().hex[:8]}"
    sent = _every_kind()
    created = encord_client.create_ontology(title, "all kinds", structure=sent)
    assert created.structure.to_dict() == sent.to_dict()
    (listed,) = encord_client.get_ontologies(title_eq=title)
    assert listed["ontology"].structure.to_dict() == sent.to_dict()
    assert encord_client.get_ontology(created.ontology_hash).structure.to_dict() == sent.to_dict()


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda e: e["classifications"][0].update(attributes=[]), "classification #0 has no attribute"),
        (lambda e: e["objects"][5]["attributes"][0].update(type="slider"), "has unknown type 'slider'"),
        (lambda e: e["objects"][5]["attributes"][0]["options"][1]["options"][0].pop("featureNodeHash"),
         "attribute #0 lacks 'featureNodeHash'"),
    ],
)  # fmt: skip
def test_an_editor_the_sdk_cannot_read_is_refused(encord_client: EncordUserClient, mangle, message) -> None:  # type: ignore[no-untyped-def]
    editor = _every_kind().to_dict()
    mangle(editor)
    payload = CreateOrUpdateOntologyPayload(title="broken", description="", editor=editor)
    with pytest.raises(EncordException, match=message):
        encord_client._api_client.post(
            "ontologies", params=None, payload=payload, result_type=OntologyWithUserRole
        )

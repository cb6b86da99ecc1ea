"""Outline differences (what `ontology_structure` drift lines say) and a project without a workflow."""

from __future__ import annotations

from types import SimpleNamespace

from encord.orm.project import ProjectType
from encord_provider.config.ontology import OntologyConfig
from encord_provider.encord_api.project_setup import ProjectSetupCalls
from encord_provider.projects.drift import outline_drift
from encord_provider.projects.structure import config_outline

FRUIT = {
    "title": "Fruit",
    "objects": [{"name": "Apple", "shape": "polygon",
                 "attributes": [{"name": "Color", "type": "radio", "options": ["Red", "Green"]}]}],
    "classifications": [{"name": "Time of day", "type": "radio", "options": ["Night", "Day"]}],
}  # fmt: skip


def _outline(**changes: object) -> dict[str, object]:
    return config_outline(OntologyConfig.model_validate({**FRUIT, **changes}))


def test_same_config_has_no_drift_and_order_of_options_does_not_matter() -> None:
    assert outline_drift(_outline(), _outline()) == []
    swapped = [
        {
            **FRUIT["objects"][0],
            "attributes": [{"name": "Color", "type": "radio", "options": ["Green", "Red"]}],
        }
    ]  # type: ignore[index]
    assert outline_drift(_outline(), _outline(objects=swapped)) == []


def test_each_difference_is_one_line_with_its_path() -> None:
    other = [{"name": "Apple", "shape": "bounding_box", "required": True,
              "attributes": [{"name": "Color", "type": "checklist", "options": ["Red", "Blue"]}]},
             {"name": "Pear", "shape": "point"}]  # fmt: skip
    assert outline_drift(_outline(), _outline(objects=other, classifications=[])) == [
        "objects/Apple/shape: Encord has 'bounding_box', the config says 'polygon'",
        "objects/Apple/required: Encord has True, the config says False",
        "objects/Apple/attributes/Color/type: Encord has 'checklist', the config says 'radio'",
        "objects/Apple/attributes/Color/options/Green: in the config, not in Encord",
        "objects/Apple/attributes/Color/options/Blue: in Encord, not in the config",
        "objects/Pear: in Encord, not in the config",
        "classifications/Time of day: in the config, not in Encord",
    ]


def test_a_project_without_a_workflow_has_no_stages() -> None:
    manual = SimpleNamespace(project_type=ProjectType.MANUAL_QA)
    assert ProjectSetupCalls.project_stages(manual) is None
    stages = [SimpleNamespace(title="Annotate 1"), SimpleNamespace(title="Complete")]
    workflow = SimpleNamespace(project_type=ProjectType.WORKFLOW, workflow=SimpleNamespace(stages=stages))
    assert ProjectSetupCalls.project_stages(workflow) == ["Annotate 1", "Complete"]

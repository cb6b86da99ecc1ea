"""Pre-classification agent written for encord-agents, used unchanged by EncordAgentStageOperator.

Stage "Pre-classify": answers the ontology's first radio classification from the image's mean brightness
(first option when bright, second when dark), saves the label row and routes to the pathway "bright"
or "dark" (non-images go to "dark" unanswered). Config: `agent: agents.pre_classify:runner`.
"""

from __future__ import annotations

from encord.objects import LabelRowV2
from encord.objects.attributes import RadioAttribute
from encord_agents.core.data_model import LabelRowInitialiseLabelsArgs
from encord_agents.tasks import Runner

from agents.imaging import fetch_gray

STAGE = "Pre-classify"
BRIGHT_THRESHOLD = 100.0

runner = Runner()


def _answer_brightness(label_row: LabelRowV2, bright: bool) -> None:
    for classification in label_row.ontology_structure.classifications:
        attribute = classification.attributes[0] if classification.attributes else None
        if isinstance(attribute, RadioAttribute) and len(attribute.options) >= 2:
            instance = classification.create_instance()
            instance.set_answer(attribute.options[0 if bright else 1])
            instance.set_for_frames(frames=0, manual_annotation=False, confidence=0.8)
            label_row.add_classification_instance(instance)
            return


@runner.stage(STAGE, label_row_initialise_labels_args=LabelRowInitialiseLabelsArgs(include_signed_url=True))
def pre_classify(label_row: LabelRowV2) -> str:
    gray = fetch_gray(label_row.data_link)
    if gray is None:  # not an image (or not fetchable): route on without an answer
        return "dark"
    bright = float(gray.mean()) >= BRIGHT_THRESHOLD
    _answer_brightness(label_row, bright)
    label_row.save()
    return "bright" if bright else "dark"


if __name__ == "__main__":
    runner.run()

# The getting-started guide's video Pre-Labeling script `prelabel_video.py` (encord-agents Runner: random
# boxes from a mock model on every frame, then on to "Annotate 1"), as the guide gives it. Run by the
# agents DAG as `agent: agents.guide.prelabel_video:runner` (stage "Pre-Labeling Agent"); the frames come
# from encord-agents' dep_video_iterator, which needs OpenCV (opencv-python-headless, requirements.txt).
#
# Changes the guide asks the user to make:
# - `<project_hash>` -> the hash of the project;
# - authentication: the guide sets ENCORD_SSH_KEY_FILE in the environment. The agents DAG does that
#   from the Airflow connection (and ENCORD_DOMAIN) for the duration of the task.
# Erratum: the guide's line `ENCORD_SSH_KEY_FILE="/path/to/file/" prelabel_video.py` is the shell command
#   that sets the variable, not Python (a SyntaxError in the script): it is commented out.
# The mock model stays, as the guide gives it ("Replace the mock model with your own model").

# The guide's layout is kept (no formatter; two trailing spaces dropped), so the lines above are the only
# differences.
# fmt: off
# ruff: noqa: I001, UP035  (the guide's imports, as given)
#Import Dependencies
import random
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from encord.objects.coordinates import BoundingBoxCoordinates
from encord.objects.ontology_labels_impl import LabelRowV2
from encord.project import Project
from encord_agents.core.data_model import Frame
from encord_agents.tasks import Depends, Runner
from encord_agents.tasks.dependencies import dep_video_iterator
from numpy.typing import NDArray
from typing_extensions import Annotated


# Set the Environment variable to authenticate with Encord
# ENCORD_SSH_KEY_FILE="/path/to/file/" prelabel_video.py

runner = Runner(project_hash="0a9e3c55-6b0e-4d2c-9a51-1e0c0f6a0003")

# === BEGIN MOCK MODEL === #
@dataclass
class ModelPrediction:
    label: int
    coords: BoundingBoxCoordinates
    conf: float


def fake_predict(image: NDArray[np.uint8]) -> list[ModelPrediction]:
    return [
        ModelPrediction(
            label=random.choice(range(3)),
            coords=BoundingBoxCoordinates(
                top_left_x=random.random() * 0.5,
                top_left_y=random.random() * 0.5,
                width=random.random() * 0.5,
                height=random.random() * 0.5,
            ),
            conf=random.random() + 0.5,
        )
        for _ in range(10)
    ]


model = fake_predict
# === END MOCK MODEL === #

@runner.stage(stage="Pre-Labeling Agent")
def run_something(
    lr: LabelRowV2,
    project: Project,
    frames: Annotated[Iterable[Frame], Depends(dep_video_iterator)],
) -> str:
    ontology = project.ontology_structure

    # Create an object instance for each frame in the video and save the labels.
    for frame in frames:
        outputs = model(frame.content)
        for output in outputs:
            ins = ontology.objects[output.label].create_instance()
            ins.set_for_frames(
                frames=frame.frame, coordinates=output.coords, confidence=output.conf
            )

            lr.add_object_instance(ins)

    lr.save()

    # Return the name of the stage the task should progress to
    return "Annotate 1"


if __name__ == "__main__":
    runner.run()

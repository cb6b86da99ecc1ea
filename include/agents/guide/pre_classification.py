# The getting-started guide's Pre-Classification Task Agent script (GPT-4o mini routes images to
# "Cat", "Dog" or "Other"), as the guide gives it. Run by the agents DAG as
# `agent: agents.guide.pre_classification:__main__` (stage "Agent 1").
#
# Changes the guide asks the user to make:
# - `<private_key_path>` -> os.environ["ENCORD_SSH_KEY_FILE"], the key file the agents DAG writes from
#   the Airflow connection for the duration of the task (hence `import os`);
# - `<project_hash>` -> the hash of the project; the stage keeps the guide's name "Agent 1".
# The model: the guide's `get_classification_from_the_model` calls OpenAI over the network (and sets
#   `openai.api_key`); here it is imported from agents.guide.model, which calls a local stand-in or the
#   function named by ENCORD_GUIDE_MODEL (same signature; docs/agents-and-export.md). `import openai`,
#   `openai.api_key = ...` and the function's definition are the lines that import replaces.
# Errata: the guide's script does not run as printed. These are the fixes, each the smallest one:
# - `Classification` and `Option` are used but not imported: `from encord.objects import ...` added;
# - the classification is assigned to `radio_classification` but used as `radio_ontology_classification`:
#   the assignment takes the used name;
# - each instance is assigned to `classification_instance` but used as `radio_classification_instance`:
#   the assignments take the used name;
# - the SDK refuses to save a classification instance that is on no frame ("ClassificationInstance is
#   not on any frame"): `radio_classification_instance.set_for_frames(frames=0)` after each answer.
# One change the guide does not list: `domain=` from ENCORD_DOMAIN (the connection's API domain), since
# the SDK's default is https://api.encord.com (needed for the emulator, api.us.encord.com, private clouds).

# The guide's layout is kept (no formatter), so the lines above are the only differences.
# fmt: off
# ruff: noqa: I001, F401  (the guide's import order; `json` was used by the guide's model function)
# Import dependencies
import os

from encord.objects import Classification, Option
from encord.user_client import EncordUserClient
from encord.workflow import AgentStage
import base64
import requests
import json

from agents.guide.model import get_classification_from_the_model


# Authenticate using the path to your private key
user_client = EncordUserClient.create_with_ssh_private_key(
    ssh_private_key_path=os.environ["ENCORD_SSH_KEY_FILE"],
    domain=os.environ.get("ENCORD_DOMAIN", "https://api.encord.com"),
)

# Specify the Project that contains the Task agent. Replace <project_hash> with the hash of your Project
project = user_client.get_project("0a9e3c55-6b0e-4d2c-9a51-1e0c0f6a0002")

radio_ontology_classification = project.ontology_structure.get_child_by_title(
title="Animal",
type_=Classification,
)

cat_option = radio_ontology_classification.get_child_by_title(
title="Cat", type_=Option
)

dog_option = radio_ontology_classification.get_child_by_title(
title="Dog", type_=Option
)

# Specify the Task Agent
agent_stage = project.workflow.get_stage(name="Agent 1", type_=AgentStage)

for task in agent_stage.get_tasks():
    # Got a task for the following data unit
    print(f"{task.data_hash} -> {task.data_title}")

    # Getting a label row for the data unit
    label_row = project.list_label_rows_v2(data_hashes=[task.data_hash])[0]
    label_row.initialise_labels(include_signed_url=True)

    # Downloading the media:
    media_response = requests.get(label_row.data_link)
    media_content = base64.b64encode(media_response.content).decode("utf-8")

    # Now we can send the media to OpenAI:
    model_response = get_classification_from_the_model(media_content)

    # And interpret the result:
    match model_response:
        case "cat":

            # Create a classification instance
            radio_classification_instance = (
                radio_ontology_classification.create_instance()
            )

            radio_classification_instance.set_answer(
                answer=cat_option
            )
            radio_classification_instance.set_for_frames(frames=0)  # erratum: the SDK needs a frame

            label_row.add_classification_instance(radio_classification_instance)
            label_row.save()

            task.proceed(pathway_name="Cat")
        case "dog":

            # Create & save classification instance
            radio_classification_instance = (
                radio_ontology_classification.create_instance()
            )

            radio_classification_instance.set_answer(
                answer=dog_option
            )
            radio_classification_instance.set_for_frames(frames=0)  # erratum: the SDK needs a frame


            label_row.add_classification_instance(radio_classification_instance)
            label_row.save()

            task.proceed(pathway_name="Dog")
        case _:
            task.proceed(pathway_name="Other")

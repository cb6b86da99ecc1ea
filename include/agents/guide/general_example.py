# The getting-started guide's "General Example" Task Agent script, as the guide gives it.
# Run by the agents DAG as `agent: agents.guide.general_example:__main__` (stage "Agent 1").
#
# Changes, each one the guide asks the user to make:
# - `<private_key_path>` -> os.environ["ENCORD_SSH_KEY_FILE"], the key file the agents DAG writes from
#   the Airflow connection for the duration of the task (hence `import os`);
# - `<project_hash>` -> the hash of the project (quoted: the guide's bare placeholder is not Python);
# - "Insert your custom logic here": one print of the task's data, and the `task.proceed(...)` line is
#   indented into the loop, where the guide's comment ("the task can be moved forward") places it.
# One change the guide does not list: `domain=` from ENCORD_DOMAIN (the connection's API domain), since
# the SDK's default is https://api.encord.com (needed for the emulator, api.us.encord.com, private clouds).

# The guide's layout is kept (no formatter), so the lines above are the only differences.
# fmt: off
# Import dependencies
import os

from encord.user_client import EncordUserClient
from encord.workflow import AgentStage

# Authenticate using the path to your private key
user_client = EncordUserClient.create_with_ssh_private_key(
ssh_private_key_path=os.environ["ENCORD_SSH_KEY_FILE"],
domain=os.environ.get("ENCORD_DOMAIN", "https://api.encord.com"),
)

# Specify the Project that contains the Task agent. Replace <project_hash> with the hash of your Project
project = user_client.get_project("0a9e3c55-6b0e-4d2c-9a51-1e0c0f6a0001")

# Specify the Task Agent
agent_stage = project.workflow.get_stage(name="Agent 1", type_=AgentStage)
for task in agent_stage.get_tasks():

    # Now you have the agent task containing the data hash
    # Insert you custom logic here
    print(f"{task.data_hash} -> {task.data_title}")

    # When the custom logic is completed, the task can be moved forward to the selected pathway
    task.proceed(pathway_name="continue to Review")

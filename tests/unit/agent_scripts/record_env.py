"""Records what an agent script sees: the key file and domain it was given (in the package's SEEN)."""

import os
from pathlib import Path

from tests.unit.agent_scripts import SEEN

if __name__ == "__main__":
    key_file = Path(os.environ["ENCORD_SSH_KEY_FILE"])
    SEEN.append({"key": key_file.read_text(), "mode": key_file.stat().st_mode & 0o777, "path": key_file,
                 "domain": os.environ["ENCORD_DOMAIN"], "raw_key": os.environ.get("ENCORD_SSH_KEY")})  # fmt: skip

"""Agent scripts: modules that drain their stage(s) when run as a program, like the Encord guide's
"General Example" and pre-classification scripts (`python general_example.py`).

Config names one as `agent: package.module:__main__`. The operator runs it as `__main__` (the way
`python -m package.module` would, every task run afresh) with the key and domain of the Airflow
connection in the environment encord-agents and the guide's scripts read (`key_file_env`). A script
drains whatever it drains; the report counts, per named stage, which tasks left it during the run.
"""

from __future__ import annotations

import os
import runpy
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from encord_provider.errors import PermanentError, TransientError

SCRIPT_ATTRIBUTE = "__main__"  # `module:__main__` = run the module as a script
ENV_KEYS = ("ENCORD_SSH_KEY", "ENCORD_SSH_KEY_FILE", "ENCORD_DOMAIN")
# Errors in the script's own code: a retry runs the same code again.
_CODE_ERRORS = (SyntaxError, NameError, ImportError, AttributeError, TypeError)


class AgentScriptError(TransientError, RuntimeError):
    """The agent script raised (network, server): a retry runs it again."""


class AgentScriptCodeError(PermanentError, RuntimeError):
    """The agent script's code is broken (a name, an import, a syntax error): fix the script."""


def script_module(agent: str) -> str | None:
    """The module of `package.module:__main__`, or None when `agent` names an object to import."""
    module, _, attribute = agent.partition(":")
    return module if attribute == SCRIPT_ATTRIBUTE else None


def extend_sys_path(search_paths: Sequence[str | Path]) -> None:
    for extra in search_paths:
        if str(extra) not in sys.path and Path(extra).is_dir():
            sys.path.append(str(extra))


@contextmanager
def key_file_env(domain: str, private_key: str) -> Iterator[Path]:
    """ENCORD_SSH_KEY_FILE (a 0600 file in a private temporary directory) and ENCORD_DOMAIN while the
    block runs; the file is deleted and the previous environment restored afterwards. ENCORD_SSH_KEY is
    unset meanwhile, so encord-agents reads exactly one key (the connection's)."""
    saved = {key: os.environ.get(key) for key in ENV_KEYS}
    with tempfile.TemporaryDirectory(prefix="encord-agent-") as directory:
        key_path = Path(directory) / "encord-key"
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(private_key)
        os.environ.pop("ENCORD_SSH_KEY", None)
        os.environ["ENCORD_SSH_KEY_FILE"] = str(key_path)
        os.environ["ENCORD_DOMAIN"] = domain
        try:
            yield key_path
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def run_script(module: str, search_paths: Sequence[str | Path] = ()) -> None:
    """Run `module` as `__main__` once; its errors become AgentScript(Code)Error naming the module."""
    extend_sys_path(search_paths)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=False)
    except SystemExit as done:
        if done.code not in (None, 0):
            raise AgentScriptError(f"agent script {module!r} exited with status {done.code!r}") from done
    except _CODE_ERRORS as err:
        raise AgentScriptCodeError(f"agent script {module!r}: {type(err).__name__}: {err}") from err
    except Exception as err:
        raise AgentScriptError(f"agent script {module!r} failed: {type(err).__name__}: {err}") from err

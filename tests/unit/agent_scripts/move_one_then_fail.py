"""Moves the first waiting task (of the package's WAITING list), then loses its backend."""

from tests.unit.agent_scripts import WAITING

if __name__ == "__main__":
    WAITING.pop(0)
    raise ConnectionError("connection reset")

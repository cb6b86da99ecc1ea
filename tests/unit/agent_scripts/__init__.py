"""Tiny agent scripts for tests/unit/test_agent_scripts.py (each runs as `__main__`)."""

SEEN: list[dict[str, object]] = []  # what record_env saw, one entry per run
WAITING: list[object] = []  # the tasks of the fake stage drain_with_script is tested on

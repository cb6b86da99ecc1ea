"""Example agents for the `projects:` section of include/pipelines.yaml (see docs/agents-and-export.md)."""

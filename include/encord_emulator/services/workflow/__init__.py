"""Workflow service: workflow graphs, tasks and stage actions."""

"""Agent functions for Encord workflow stages, run with encord-agents' own dependency injection."""

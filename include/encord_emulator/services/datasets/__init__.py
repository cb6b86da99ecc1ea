"""Datasets service: datasets and their data rows (api-surface §6)."""

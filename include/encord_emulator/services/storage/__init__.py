"""Index storage service: cloud integrations, folders, storage items and upload jobs (api-surface §5)."""

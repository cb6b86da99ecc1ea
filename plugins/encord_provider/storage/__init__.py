"""Storage backends: one listing interface over S3 (and S3-compatible), GCS and Azure Blob."""

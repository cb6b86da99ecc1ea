"""Pipeline configuration: pydantic models for include/pipelines.yaml, validated at parse time."""

from encord_provider.config.ingest import IngestPipeline
from encord_provider.config.loader import PipelinesConfigError, PipelinesFile, load_pipelines, parse_pipelines

__all__ = ["IngestPipeline", "PipelinesConfigError", "PipelinesFile", "load_pipelines", "parse_pipelines"]

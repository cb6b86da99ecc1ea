"""Encord registration manifests: classify, group, chunk and write JSON/CSV manifests (plain Python)."""

from encord_provider.manifests.builder import BuildSummary, build_manifests
from encord_provider.manifests.chunker import ChunkInfo
from encord_provider.manifests.config import (
    ImageMode,
    ImageModeRule,
    InputOrder,
    ManifestConfig,
    ManifestFormat,
    OverflowPolicy,
)
from encord_provider.manifests.datatypes import DataType, TypeMap
from encord_provider.manifests.writer import ChunkSink, LocalDirSink, StoreSink

__all__ = [
    "BuildSummary",
    "ChunkInfo",
    "ChunkSink",
    "DataType",
    "ImageMode",
    "ImageModeRule",
    "InputOrder",
    "LocalDirSink",
    "ManifestConfig",
    "ManifestFormat",
    "OverflowPolicy",
    "StoreSink",
    "TypeMap",
    "build_manifests",
]

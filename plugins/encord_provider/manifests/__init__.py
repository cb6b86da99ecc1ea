"""Encord registration manifests: classify, group, chunk and write JSON/CSV manifests (plain Python).

The names below are loaded on first use, so importing one submodule (the config reads the data-type
registry in `manifests.datatypes` at DAG-parse time) does not import the builder and writers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "BuildSummary": "builder",
    "build_manifests": "builder",
    "ChunkInfo": "chunker",
    "ImageMode": "config",
    "ImageModeRule": "config",
    "InputOrder": "config",
    "ManifestConfig": "config",
    "ManifestFormat": "config",
    "OverflowPolicy": "config",
    "DataType": "datatypes",
    "TypeMap": "datatypes",
    "ChunkSink": "writer",
    "LocalDirSink": "writer",
    "StoreSink": "writer",
}

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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)

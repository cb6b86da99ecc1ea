"""Listed objects -> chunked manifests (through `encord_provider.manifests`) -> ChunkPlans for the ledger.

The manifest builder writes `<chunk>.json`, `<chunk>.objects.jsonl` (which objects make up each entry)
and `rejections.jsonl`; this module turns the objects index into a ChunkPlan keyed by entry title (the
name Encord reports back per item) and collects rejections by key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.chunks import ChunkPlan, PlannedObject
from encord_provider.ingest.stores import key_of_uri
from encord_provider.manifests import (
    ImageMode,
    InputOrder,
    ManifestConfig,
    StoreSink,
    TypeMap,
    build_manifests,
)
from encord_provider.manifests.datatypes import DataType, config_name, parse_data_type
from encord_provider.manifests.rejections import SkipReport
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.key_order import KeyOrder
from encord_provider.storage.records import ObjectRecord

_TYPE_MAP = TypeMap()


def kind_of(key: str) -> str | None:
    """The data-type name used by the run's `data_types` filter (image, video, pdf, dicom, ...)."""
    kind = _TYPE_MAP.classify(key)
    if not isinstance(kind, DataType):
        return None
    return config_name(kind)


@dataclass
class PlannedChunks:
    plans: list[ChunkPlan] = field(default_factory=list)
    rejections: dict[str, str] = field(default_factory=dict)  # key -> reason
    rejections_uri: str = ""
    summary_uri: str = ""
    skipped_uri: str = ""
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)  # type -> {"entries", "objects"}


def manifest_config(pipeline: IngestPipeline, chunk_size: int = 0) -> ManifestConfig:
    chunking = pipeline.chunking
    max_entries = chunk_size or chunking.max_entries
    return ManifestConfig(
        skip_duplicate_urls=True,
        max_entries=max_entries,
        per_type={parse_data_type(k): min(n, max_entries) for k, n in chunking.per_type.items()},
        image_mode=ImageMode(chunking.image_mode),
        image_mode_rules=tuple(rule.to_rule() for rule in chunking.image_modes),
        group_regex=chunking.group_regex,
        # an inventory streams in manifest order: the builder sorts it on disk first
        input_order=InputOrder.SORTED if pipeline.source.listing.key_ordered else InputOrder.ANY,
    )


def build_chunk_plans(
    records: Iterable[ObjectRecord],
    pipeline: IngestPipeline,
    chunk_size: int,
    staging: ObjectStore,
    prefix: str,
    key_order: KeyOrder | None = None,
    skipped: SkipReport | None = None,
) -> PlannedChunks:
    """Write manifests under `prefix` in staging and return one ChunkPlan per chunk, plus rejections.
    `key_order` is the source backend's listing order (storage.key_order); `skipped` the filters' report."""
    config = manifest_config(pipeline, chunk_size)
    sink = StoreSink(staging, prefix)
    summary = build_manifests(records, config, sink, key_order=key_order, skipped=skipped)
    result = PlannedChunks(
        rejections_uri=summary.rejections_uri,
        summary_uri=summary.summary_uri,
        skipped_uri=summary.skipped_uri,
    )
    for chunk in summary.chunks:
        index = staging.read_bytes(key_of_uri(staging, chunk.objects_uri)).decode("utf-8")
        plan = ChunkPlan(name=f"chunk-{chunk.index:05d}", manifest_uri=chunk.uri)
        for line in index.splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            plan.entries[entry["title"]] = [
                PlannedObject(o["key"], o["etag"], o["url"]) for o in entry["objects"]
            ]
            kind = config_name(DataType(entry["type"]))  # the run report speaks the config's names
            counts = result.by_type.setdefault(kind, {"entries": 0, "objects": 0})
            counts["entries"] += 1
            counts["objects"] += len(entry["objects"])
        result.plans.append(plan)
    if summary.n_rejected:
        text = staging.read_bytes(key_of_uri(staging, summary.rejections_uri)).decode("utf-8")
        for line in text.splitlines():
            if line.strip():
                rejection = json.loads(line)
                result.rejections[rejection["key"]] = rejection["reason"]
    return result

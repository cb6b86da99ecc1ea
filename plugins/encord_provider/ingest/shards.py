"""Shards of a pipeline's key space, and where each shard keeps its ledger.

A shard is what one mapped plan / link task works on: a prefix partition (declared, or derived from the
first `/` level when a run starts) or a range of a stable 64-bit hash. Every key belongs to at most one
shard, decided from the key alone (`Shard.contains`, `ShardLayout.assign`), so a shard's task reads and
writes only its own ledger:

- one implicit shard (no `shards:` config): the ledger stays where it always was, `<ledger>/`;
- several shards: `<ledger>/shards/<shard id>/`, and the pipeline watermark in `<ledger>/pipeline/`.

`<ledger>/layout.json` records the layout the shard ledgers were written with; `migrate.py` splits the
old ledger into the new shards when it changes. Plain Python, no Airflow.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from encord_provider.config.ingest import MAX_MAP_LENGTH, IngestPipeline, ShardsConfig
from encord_provider.ingest.stores import ledger_prefix

SIDECAR_SUFFIX = ".encord.json"  # a metadata sidecar goes to the shard of the object it describes
ROOT_SHARD = "root"  # derived layout: the objects directly under the prefix
SINGLE_SHARD = "all"


def hash_slot(text: str, count: int) -> int:
    """Which of `count` equal ranges of a stable 64-bit hash `text` falls in (the same on every worker;
    going from n to 2n shards splits each range in two)."""
    digest = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
    return (digest * count) >> 64


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text.strip("/"))[:60]


def prefix_shard_id(relative: str) -> str:
    """A key-safe, unique id for a prefix shard: readable part + a hash of the exact prefix."""
    return f"p-{_safe(relative)}-{hashlib.blake2b(relative.encode(), digest_size=4).hexdigest()}"


@dataclass(frozen=True)
class Shard:
    """One shard: `prefix` is what its tasks list (absolute, includes source.prefix)."""

    id: str
    prefix: str
    hash_index: int | None = None  # hash shards: the range index, of `hash_count`
    hash_count: int = 0
    hash_by: str = "folder"
    direct_only: bool = False  # derived root shard: only objects directly under `prefix`

    def contains(self, key: str) -> bool:
        if not key.startswith(self.prefix):
            return False
        if self.direct_only and "/" in key[len(self.prefix) :]:
            return False
        if self.hash_index is None:
            return True
        return hash_slot(hash_unit(key, self.hash_by), self.hash_count) == self.hash_index

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "prefix": self.prefix, "hash_index": self.hash_index,
                "hash_count": self.hash_count, "hash_by": self.hash_by, "direct_only": self.direct_only}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shard:
        return cls(**data)


def hash_unit(key: str, hash_by: str) -> str:
    key = key.removesuffix(SIDECAR_SUFFIX)
    return key.rpartition("/")[0] if hash_by == "folder" else key


@dataclass(frozen=True)
class ShardLayout:
    """How keys map to shards, without listing anything (what the ledger split needs)."""

    prefix: str  # source.prefix
    config: ShardsConfig

    @property
    def kind(self) -> str:
        return self.config.kind

    def describe(self) -> dict[str, Any]:
        """What layout.json records: enough to tell whether ledgers must be split again."""
        return {"kind": self.kind, "hash": self.config.hash, "hash_by": self.config.hash_by}

    def assign(self, key: str) -> str | None:
        """The id of the shard `key` belongs to, or None (a prefix layout that leaves it out)."""
        config = self.config
        if not key.startswith(self.prefix):
            return None
        rest = key[len(self.prefix) :]
        if config.hash:
            index = hash_slot(hash_unit(key, config.hash_by), config.hash)
            return hash_shard_id(index, config.hash)
        if config.prefixes:
            found = [p for p in config.prefixes if rest.startswith(p)]
            return prefix_shard_id(found[0]) if found else None
        if config.derive:
            head, slash, _ = rest.removesuffix(SIDECAR_SUFFIX).partition("/")
            if not slash:
                return ROOT_SHARD
            sub = head + "/"
            return (
                prefix_shard_id(sub)
                if config.match is None or fnmatch.fnmatchcase(sub, config.match)
                else None
            )
        return SINGLE_SHARD


def hash_shard_id(index: int, count: int) -> str:
    return f"h{index:04d}-of-{count:04d}"


def layout_of(pipeline: IngestPipeline) -> ShardLayout:
    return ShardLayout(pipeline.source.prefix, pipeline.shards)


def declared_shards(pipeline: IngestPipeline, sub_prefixes: Iterable[str] = ()) -> list[Shard]:
    """The shards of a run. `sub_prefixes` (derived layouts only) are the first-level sub-prefixes of
    source.prefix, relative to it, as a delimiter listing returns them."""
    config, base = pipeline.shards, pipeline.source.prefix
    if config.hash:
        return [
            Shard(hash_shard_id(i, config.hash), base, i, config.hash, config.hash_by)
            for i in range(config.hash)
        ]
    if config.prefixes:
        return [Shard(prefix_shard_id(p), base + p) for p in config.prefixes]
    if config.derive:
        subs = sorted(
            {s for s in sub_prefixes if config.match is None or fnmatch.fnmatchcase(s, config.match)}
        )
        return [
            Shard(ROOT_SHARD, base, direct_only=True),
            *(Shard(prefix_shard_id(s), base + s) for s in subs),
        ]
    return [Shard(SINGLE_SHARD, base)]


def shard_groups(shards: list[Shard], limit: int = MAX_MAP_LENGTH) -> list[list[dict[str, Any]]]:
    """The shards as at most `limit` groups of consecutive shards (one mapped task each), as JSON."""
    count = min(len(shards), limit)
    size, extra = divmod(len(shards), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append([s.to_json() for s in shards[start:end]])
        start = end
    return groups


def is_sharded(pipeline: IngestPipeline) -> bool:
    return pipeline.shards.kind != "single"


def shard_ledger_prefix(pipeline: IngestPipeline, shard_id: str) -> str:
    """Where the ledger of one shard lives (the old single ledger for an unsharded pipeline)."""
    if not is_sharded(pipeline):
        return ledger_prefix(pipeline)
    return f"{ledger_prefix(pipeline)}/shards/{shard_id}"


def pipeline_ledger_prefix(pipeline: IngestPipeline) -> str:
    """The ledger that holds the pipeline watermark (no records when sharded)."""
    return ledger_prefix(pipeline) if not is_sharded(pipeline) else f"{ledger_prefix(pipeline)}/pipeline"


def layout_key(pipeline: IngestPipeline) -> str:
    return f"{ledger_prefix(pipeline)}/layout.json"


def in_shard(records: Iterable[Any], shard: Shard) -> Iterator[Any]:
    """Listed records (anything with `.key`) that belong to `shard`."""
    return (r for r in records if shard.contains(r.key))

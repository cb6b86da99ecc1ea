"""The shards of one run, fixed when it starts: `<run>/shards.json` holds them in at most
`max_map_length` groups, and the mapped plan / link tasks receive only a group number (small XComs).

Also what the per-group tasks leave for finalize: plan summaries (`plan.json`, or `plan-gNNNN.json` per
group when there are several, merged by finalize into `plan.json`) and link parts (`link-gNNNN.json`).
Plain Python, no Airflow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.ledger_split import current_ledger_prefixes
from encord_provider.ingest.plan import RunOptions, run_prefix, run_scope, scope_records
from encord_provider.ingest.plan_ledger import plan_ledgers
from encord_provider.ingest.shards import (
    ROOT_SHARD,
    Shard,
    declared_shards,
    layout_of,
    pipeline_ledger_prefix,
    prefix_shard_id,
    shard_groups,
)
from encord_provider.ingest.shared_listing import write_scope, write_shard_files
from encord_provider.ledger import Ledger
from encord_provider.storage.base import ObjectStore


def shards_key(pipeline: IngestPipeline, run_id: str) -> str:
    return f"{run_prefix(pipeline, run_id)}/shards.json"


def sub_prefixes(source: ObjectStore, prefix: str) -> list[str]:
    """First-level sub-prefixes of `prefix`, relative to it (a derived layout's shards)."""
    level = source.list_level(prefix)  # type: ignore[attr-defined]  # every real backend browses
    return [item[len(prefix) :] for item in level if isinstance(item, str)]


def vanished_shards(staging: ObjectStore, pipeline: IngestPipeline, listed: list[Shard]) -> list[Shard]:
    """Derived shards whose folder is gone from the bucket but whose ledger is not: planned too, so that a
    full listing of their (now empty) prefix reports their objects deleted. A shard id is one-way, so
    the folder comes from a key of the shard's ledger (its snapshot index: no records read)."""
    known, base = {s.id for s in listed}, pipeline.source.prefix
    found = []
    for prefix in current_ledger_prefixes(staging, pipeline):
        shard_id = prefix.rpartition("/")[2]
        if shard_id in known or shard_id == ROOT_SHARD:
            continue
        ledger = Ledger(staging, prefix).open()
        key = ledger.some_key()
        ledger.close()
        sub = (key or "")[len(base) :].partition("/")[0] + "/"
        if key is not None and key.startswith(base) and prefix_shard_id(sub) == shard_id:
            found.append(Shard(shard_id, base + sub))
    return found


def shares_listing(pipeline: IngestPipeline) -> bool:
    """Hash shards each cover the whole prefix: they share one listing (ingest.shared_listing)."""
    return bool(pipeline.shards.hash and pipeline.shards.hash > 1 and pipeline.source.listing.mode == "list")


def list_once_for_shards(
    staging: ObjectStore, source: ObjectStore, pipeline: IngestPipeline, run_id: str, options: RunOptions,
    shards: list[Shard],
) -> dict[str, int]:  # fmt: skip
    """List the run's scope once and leave each shard's objects (and the scope) for its plan."""
    ledgers = plan_ledgers(staging, pipeline)
    watermarks = Ledger(staging, pipeline_ledger_prefix(pipeline))
    scope = run_scope(pipeline, options, watermarks, staging, watermark=ledgers.watermark)
    base = run_prefix(pipeline, run_id)
    records = scope_records(pipeline, source, scope)
    counts = write_shard_files(staging, base, records, [s.id for s in shards], layout_of(pipeline).assign)
    write_scope(staging, base, scope)  # last: a plan reads the shared listing only once it is whole
    return counts


def fix_run_shards(
    staging: ObjectStore, source: ObjectStore, pipeline: IngestPipeline, run_id: str,
    options: RunOptions | None = None,
) -> int:  # fmt: skip
    """Decide the run's shards (listing one level for a derived layout, plus the derived shards whose
    folder vanished; listing the run's scope once for hash shards) and write them; returns the number
    of groups (= mapped plan and link tasks)."""
    derived = sub_prefixes(source, pipeline.source.prefix) if pipeline.shards.derive else []
    shards = declared_shards(pipeline, derived)
    if pipeline.shards.derive:
        shards += vanished_shards(staging, pipeline, shards)
    if shares_listing(pipeline):
        list_once_for_shards(staging, source, pipeline, run_id, options or RunOptions(), shards)
    groups = shard_groups(shards)
    body = {"groups": groups}
    staging.write_bytes(shards_key(pipeline, run_id), json.dumps(body).encode(), "application/json")
    return len(groups)


def read_group(
    staging: ObjectStore, pipeline: IngestPipeline, run_id: str, group: int
) -> tuple[list[Shard], int]:
    """The shards of one group, and how many groups the run has."""
    groups = json.loads(staging.read_bytes(shards_key(pipeline, run_id)))["groups"]
    return [Shard.from_json(s) for s in groups[group]], len(groups)


def group_count(staging: ObjectStore, pipeline: IngestPipeline, run_id: str) -> int:
    key = shards_key(pipeline, run_id)
    return len(json.loads(staging.read_bytes(key))["groups"]) if staging.exists(key) else 1


def group_file(base: str, name: str, group: int, groups: int, ext: str = ".json") -> str:
    """`<base>/<name>.json` for a one-group run (as before shards), else `<base>/<name>-gNNNN.json`."""
    return f"{base}/{name}{ext}" if groups == 1 else f"{base}/{name}-g{group:04d}{ext}"


def merge(a: Any, b: Any) -> Any:
    """Merge two group summaries: numbers add, lists concatenate, dicts merge key by key; for anything
    else the first non-empty value wins."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: merge(a.get(k), b.get(k)) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}
    if isinstance(a, bool) or isinstance(b, bool):
        return a or b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    return a if a not in (None, "", {}, []) else b


def merged(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for part in parts:
        result = merge(result, part) if result else dict(part)
    return result

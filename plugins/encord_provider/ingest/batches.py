"""Register batches: several chunk plans for one mapped register task, so no `.expand` passes Airflow's
`max_map_length` and small chunks do not each pay a task's start-up.

A batch file (`<run>/batches/<token>-<n>.batch.json`) lists its chunks in order, each with the ledger
(shard) its results go to. Its URI is the only thing in XCom. A chunk-plan URI (`.plan.json`) is still
accepted where a batch is expected: a batch of that one chunk, in the pipeline's unsharded ledger.
Plain Python, no Airflow.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from encord_provider.ingest.stores import key_of_uri
from encord_provider.storage.base import ObjectStore

BATCH_SUFFIX = ".batch.json"


@dataclass(frozen=True)
class ChunkRef:
    """One chunk of a batch: its plan, the ledger its results go to, its manifest entries."""

    plan_uri: str
    ledger_prefix: str
    entries: int = 0


def group_chunks(chunks: Sequence[ChunkRef], budget: int, min_entries: int = 0) -> list[list[ChunkRef]]:
    """Consecutive chunks in at most `budget` batches of near-equal chunk counts; with `min_entries`, a
    batch also grows until it holds that many manifest entries (small chunks share a task)."""
    if not chunks:
        return []
    per_batch = math.ceil(len(chunks) / max(1, budget))
    batches: list[list[ChunkRef]] = [[]]
    entries = 0
    for chunk in chunks:
        current = batches[-1]
        if current and len(current) >= per_batch and entries >= min_entries:  # min_entries only grows batches
            batches.append(current := [])
            entries = 0
        current.append(chunk)
        entries += chunk.entries
    if min_entries and len(batches) > 1 and sum(c.entries for c in batches[-1]) < min_entries:
        batches[-2].extend(batches.pop())  # a small remainder joins the batch before it
    return batches


def write_batches(staging: ObjectStore, run_base: str, batches: list[list[ChunkRef]]) -> list[str]:
    """Write each batch file; returns their URIs (what the register tasks are mapped over)."""
    token = uuid.uuid4().hex[:8]
    uris = []
    for number, batch in enumerate(batches):
        key = f"{run_base}/batches/{token}-{number:05d}{BATCH_SUFFIX}"
        body = {"chunks": [{"plan_uri": c.plan_uri, "ledger_prefix": c.ledger_prefix, "entries": c.entries}
                           for c in batch]}  # fmt: skip
        staging.write_bytes(key, json.dumps(body, separators=(",", ":")).encode(), "application/json")
        uris.append(staging.uri(key))
    return uris


def read_batch(staging: ObjectStore, uri: str, unsharded_ledger: str) -> list[ChunkRef]:
    """The chunks of a batch URI, or the one chunk of a chunk-plan URI."""
    if not uri.endswith(BATCH_SUFFIX):
        return [ChunkRef(uri, unsharded_ledger)]
    body = json.loads(staging.read_bytes(key_of_uri(staging, uri)))
    return [ChunkRef(c["plan_uri"], c["ledger_prefix"], int(c.get("entries", 0))) for c in body["chunks"]]

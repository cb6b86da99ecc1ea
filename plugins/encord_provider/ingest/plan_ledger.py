"""Which ledger and which watermark the plan of one shard reads, decided once per plan task.

- A shard's records live in its shard ledger, but the pipeline watermark of a sharded pipeline lives in
  `<ledger>/pipeline/` (shards.py): a sharded plan is pruned by that watermark, not by its shard ledger's
  (which has none).
- A dry run before the first sharded run comes before the split (prepare splits only for real runs, under
  the lease): its shard ledgers are still empty, so it reads the unsplit pipeline ledger instead (each
  shard only its own keys of it) and that ledger's watermark.

Ledgers are opened with `Ledger.open()`: a run that lists little reads little of them (ledger/index.py).
Plain Python, no Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from encord_provider.config.ingest import IngestPipeline
from encord_provider.ingest.ledger_split import read_layout
from encord_provider.ingest.shards import is_sharded, layout_of, pipeline_ledger_prefix, shard_ledger_prefix
from encord_provider.ingest.stores import ledger_prefix
from encord_provider.ledger import Ledger, Watermark
from encord_provider.storage.base import ObjectStore


@dataclass(frozen=True)
class PlanLedgers:
    unsplit: bool  # a sharded pipeline whose single ledger is not split yet (only a dry run sees this)
    watermark: Watermark | None  # the pipeline's (None: the shard ledger is the pipeline ledger)


def plan_ledgers(staging: ObjectStore, pipeline: IngestPipeline) -> PlanLedgers:
    if not is_sharded(pipeline):
        return PlanLedgers(False, None)
    old = read_layout(staging, pipeline)
    unsplit = old["kind"] == "single" and old != layout_of(pipeline).describe()
    prefix = ledger_prefix(pipeline) if unsplit else pipeline_ledger_prefix(pipeline)
    ledger = Ledger(staging, prefix).open()
    watermark = ledger.watermark
    ledger.close()
    return PlanLedgers(unsplit, watermark)


def open_plan_ledger(
    staging: ObjectStore, pipeline: IngestPipeline, shard_id: str, ledgers: PlanLedgers
) -> Ledger:
    """The ledger a shard's plan looks its keys up in (the unsplit one before the first split)."""
    prefix = ledger_prefix(pipeline) if ledgers.unsplit else shard_ledger_prefix(pipeline, shard_id)
    return Ledger(staging, prefix).open()

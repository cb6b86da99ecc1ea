"""Durable per-pipeline ledger: one record per bucket object, stored as JSONL in the staging bucket."""

from encord_provider.ledger.compaction import Compaction
from encord_provider.ledger.files import LedgerCorruptError
from encord_provider.ledger.ledger import Ledger
from encord_provider.ledger.reader import LedgerChangedError, LedgerProblem
from encord_provider.ledger.records import (
    LINKABLE_STATES,
    SETTLED_STATES,
    LedgerRecord,
    ObjectState,
    Watermark,
    needs_submission,
    utc_now,
)

__all__ = [
    "LINKABLE_STATES",
    "SETTLED_STATES",
    "Compaction",
    "Ledger",
    "LedgerChangedError",
    "LedgerCorruptError",
    "LedgerProblem",
    "LedgerRecord",
    "ObjectState",
    "Watermark",
    "needs_submission",
    "utc_now",
]

"""Counts of one inventory listing, for logs and run reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class InventoryStats:
    """Every row read ends up yielded or skipped under a reason (`delete_marker`, `outside_prefix`, ...)."""

    manifest: str = ""
    snapshot_time: str | None = None
    age_hours: float | None = None
    files_total: int = 0
    files_read: int = 0
    batches: int = 0
    max_batch_rows: int = 0
    rows_read: int = 0
    rows_yielded: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "manifest": self.manifest,
            "snapshot_time": self.snapshot_time,
            "age_hours": self.age_hours,
            "files_total": self.files_total,
            "files_read": self.files_read,
            "batches": self.batches,
            "max_batch_rows": self.max_batch_rows,
            "rows_read": self.rows_read,
            "rows_yielded": self.rows_yielded,
            "skipped": dict(self.skipped),
        }

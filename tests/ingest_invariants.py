"""The exactly-once invariants every ingest scenario test asserts (shared by the DAG and unit tests).

Given what is in the bucket, in the Encord folder, in each dataset and in the ledger:

1. every expected bucket object ends either registered once (linked to an item that exists in the folder)
   or rejected with a reason;
2. the folder holds no URL twice (for files uploaded from a local source: no upload id, which the item's
   client metadata `encord_ingest.upload` names), and no item that the ledger does not know (a twin);
3. each dataset holds each item once, and exactly the items the ledger says are linked (plus, at most,
   the kept items of objects since deleted from the bucket: state `deleted`, see `bucket_changes`);
4. the ledger agrees with Encord (every item uuid it names exists in the folder).

`check_exactly_once` returns a small tally (for closing notes and benchmarks) and raises AssertionError
with every violation it found, not only the first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SETTLED_OK = {"linked"}
REJECTED = {"rejected"}
KEPT_AFTER_DELETE = {"deleted"}  # gone from the bucket; its item may stay in the folder and datasets


@dataclass
class Tally:
    objects_in: int = 0
    registered: int = 0  # objects whose item exists once in the folder and is linked
    rejected: int = 0
    registered_twice: int = 0  # folder URLs (or items) present more than once, plus orphan items
    lost: int = 0  # objects neither registered nor rejected with a reason
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "objects_in": self.objects_in,
            "registered": self.registered,
            "rejected": self.rejected,
            "registered_twice": self.registered_twice,
            "lost": self.lost,
        }


def _state(record: Any) -> str:
    return str(getattr(record, "state", ""))


def _source_of(item: Any) -> str | None:
    """What identifies the item's source: its URL, or the upload id of a file uploaded from a local source."""
    if getattr(item, "url", None):
        return str(item.url)
    metadata = getattr(item, "client_metadata", None) or {}
    upload = (metadata.get("encord_ingest") or {}).get("upload") if isinstance(metadata, dict) else None
    return f"upload:{upload['id']}" if isinstance(upload, dict) and upload.get("id") else None


def check_exactly_once(
    *,
    bucket_keys: Iterable[str],
    ledger_records: Mapping[str, Any],
    folder_items: Iterable[Any],
    dataset_rows: Mapping[str, Iterable[Any]],
    raise_on_problem: bool = True,
) -> Tally:
    """Check the four invariants; `dataset_rows` maps dataset hash -> its data rows (`backing_item_uuid`).

    `bucket_keys` are the objects the pipeline is expected to account for (the listed objects under the
    pipeline's prefix, minus sidecars and what its filters skip on purpose).
    """
    tally = Tally()
    items = list(folder_items)
    item_uuids = Counter(str(item.uuid) for item in items)
    urls = Counter(source for item in items if (source := _source_of(item)))
    for url, count in urls.items():
        if count > 1:
            tally.registered_twice += count - 1
            tally.problems.append(f"folder holds URL {url} {count} times")

    ledger_items: set[str] = set()
    for key in sorted(set(bucket_keys)):
        tally.objects_in += 1
        record = ledger_records.get(key)
        if record is None:
            tally.lost += 1
            tally.problems.append(f"{key}: not in the ledger")
            continue
        state = _state(record)
        if state in REJECTED:
            if not getattr(record, "error", None):
                tally.lost += 1
                tally.problems.append(f"{key}: rejected without a reason")
            else:
                tally.rejected += 1
            continue
        item_uuid = getattr(record, "item_uuid", None)
        if state not in SETTLED_OK or not item_uuid:
            tally.lost += 1
            tally.problems.append(f"{key}: ledger state {state!r}, item {item_uuid!r} (not linked)")
            continue
        if item_uuid not in item_uuids:
            tally.lost += 1
            tally.problems.append(f"{key}: ledger names item {item_uuid} that is not in the folder")
            continue
        ledger_items.add(item_uuid)
        tally.registered += 1

    for record in ledger_records.values():  # items of objects outside bucket_keys still count as known
        if getattr(record, "item_uuid", None):
            ledger_items.add(str(record.item_uuid))
    orphans = sorted(set(item_uuids) - ledger_items)
    if orphans:
        tally.registered_twice += len(orphans)
        tally.problems.append(f"folder holds {len(orphans)} items the ledger does not know: {orphans[:5]}")

    linked_items = {
        str(r.item_uuid) for r in ledger_records.values() if _state(r) in SETTLED_OK and r.item_uuid
    }
    kept_items = {
        str(r.item_uuid) for r in ledger_records.values() if _state(r) in KEPT_AFTER_DELETE and r.item_uuid
    }
    for dataset_hash, rows in dataset_rows.items():
        backing = Counter(str(row.backing_item_uuid) for row in rows)
        twice = sorted(u for u, n in backing.items() if n > 1)
        if twice:
            tally.problems.append(f"dataset {dataset_hash} holds items more than once: {twice[:5]}")
        missing = sorted(linked_items - set(backing))
        if missing:
            tally.problems.append(f"dataset {dataset_hash} lacks {len(missing)} linked items: {missing[:5]}")
        extra = sorted(set(backing) - linked_items - kept_items)
        if extra:
            tally.problems.append(f"dataset {dataset_hash} holds {len(extra)} items not linked: {extra[:5]}")

    if raise_on_problem and tally.problems:
        raise AssertionError(
            f"exactly-once violated ({tally.as_dict()}):\n  " + "\n  ".join(tally.problems[:50])
        )
    return tally

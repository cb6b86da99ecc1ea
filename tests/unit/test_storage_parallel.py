"""Prefix-parallel listing over a local directory store: same records and order as sequential listing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from encord_provider.storage.local import LocalStore
from encord_provider.storage.parallel import list_parallel
from encord_provider.storage.records import ObjectRecord


class InstrumentedStore(LocalStore):
    """A LocalStore that records how many sub-prefix listings run at once and can fail on one prefix."""

    def __init__(self, root: Path, fail_on: str | None = None, delay: float = 0.0) -> None:
        super().__init__(root)
        self.fail_on = fail_on
        self.delay = delay
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectRecord]:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if prefix == self.fail_on:
                raise RuntimeError(f"listing {prefix} failed")
            for record in super().list_objects(prefix, start_after):
                time.sleep(self.delay)
                yield record
        finally:
            with self.lock:
                self.active -= 1


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    store = LocalStore(tmp_path)
    for part in range(12):
        for i in range(part * 3):  # uneven partitions, some empty
            store.write_bytes(f"data/p{part:02d}/f {i}+x.bin", b"x" * i)
    store.write_bytes("data/p05-top.txt", b"top")  # sorts between data/p05/ and data/p06/
    store.write_bytes("data/readme", b"r")
    return tmp_path


def keys(records: Iterator[ObjectRecord]) -> list[str]:
    return [r.key for r in records]


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_parallel_equals_sequential_in_order(tree: Path, workers: int) -> None:
    store = LocalStore(tree)
    sequential = list(store.list_objects("data/"))
    assert list(list_parallel(store, "data/", workers=workers, queue_size=2, lookahead=4)) == sequential
    assert len(sequential) == sum(p * 3 for p in range(12)) + 2


def test_descends_through_single_prefix_levels(tree: Path) -> None:
    store = LocalStore(tree)
    assert keys(list_parallel(store, "", workers=4)) == keys(store.list_objects(""))


def test_concurrency_is_bounded_by_workers(tree: Path) -> None:
    store = InstrumentedStore(tree, delay=0.001)
    result = keys(list_parallel(store, "data/", workers=3, queue_size=1))
    assert result == keys(LocalStore(tree).list_objects("data/"))
    assert 1 < store.max_active <= 3


def test_worker_error_is_raised_at_its_place(tree: Path) -> None:
    store = InstrumentedStore(tree, fail_on="data/p04/")
    seen: list[str] = []
    with pytest.raises(RuntimeError, match="listing data/p04/ failed"):
        for record in list_parallel(store, "data/", workers=4):
            seen.append(record.key)
    assert seen == [k for k in keys(LocalStore(tree).list_objects("data/")) if k < "data/p04/"]


def test_closing_early_stops_the_workers(tree: Path) -> None:
    store = InstrumentedStore(tree, delay=0.001)
    before = {t.name for t in threading.enumerate()}
    stream = list_parallel(store, "data/", workers=4, queue_size=1)
    first = [next(stream).key for _ in range(5)]
    stream.close()
    assert first == keys(LocalStore(tree).list_objects("data/"))[:5]
    leftover = [
        t for t in threading.enumerate() if t.name.startswith("list-parallel") and t.name not in before
    ]
    assert leftover == [] and store.active == 0


def test_rejects_bad_arguments(tree: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(list_parallel(LocalStore(tree), "data/", workers=0))

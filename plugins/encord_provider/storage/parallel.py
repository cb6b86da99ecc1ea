"""Prefix-parallel listing: one delimiter listing finds the sub-prefixes, a thread pool lists them.

Records come out in exactly the order a sequential `list_objects(prefix)` gives (all keys under a
sub-prefix sort together), while at most `workers` sub-prefixes are listed at once, each into its own
bounded queue. Memory therefore stays bounded by `workers * (queue_size + one page)` records however
large the bucket is.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from encord_provider.storage.base import BrowsableStore
from encord_provider.storage.records import ObjectRecord

_DONE = object()
_POLL_SECONDS = 0.1


@dataclass
class _PrefixTask:
    """One sub-prefix being listed by a worker into its own bounded queue."""

    prefix: str
    out: queue.Queue[object]


@dataclass
class _Window:
    """Pending entries of the level listing, in key order: records, and sub-prefix tasks of which the
    earliest `workers` are running."""

    level: Iterator[ObjectRecord | str]
    lookahead: int
    queue_size: int
    pending: deque[ObjectRecord | _PrefixTask] = field(default_factory=deque)
    unstarted: deque[_PrefixTask] = field(default_factory=deque)
    running: int = 0
    exhausted: bool = False

    def fill(self) -> None:
        """Read the level listing ahead until `lookahead` entries wait or the level ends."""
        while not self.exhausted and len(self.pending) < self.lookahead:
            entry = next(self.level, None)
            if entry is None:
                self.exhausted = True
            elif isinstance(entry, str):
                task = _PrefixTask(entry, queue.Queue(maxsize=self.queue_size))
                self.pending.append(task)
                self.unstarted.append(task)
            else:
                self.pending.append(entry)


def _produce(store: BrowsableStore, task: _PrefixTask, stop: threading.Event) -> None:
    """Worker: list one sub-prefix into its queue, then a _DONE marker (or the exception)."""

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                task.out.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    try:
        for record in store.list_objects(task.prefix):
            if not put(record):
                return
    except BaseException as err:  # surfaced to the consumer, in key order
        put(err)
        return
    put(_DONE)


def _drain(task: _PrefixTask) -> Iterator[ObjectRecord]:
    while True:
        item = task.out.get()
        if item is _DONE:
            return
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, ObjectRecord)
        yield item


def _descend(store: BrowsableStore, prefix: str, delimiter: str, max_depth: int) -> str:
    """Skip down through levels holding exactly one sub-prefix and no objects (e.g. `data/` -> `data/2024/`)."""
    for _ in range(max_depth):
        first_two = []
        for entry in store.list_level(prefix, delimiter):
            first_two.append(entry)
            if len(first_two) == 2:
                break
        if len(first_two) != 1 or not isinstance(first_two[0], str):
            return prefix
        prefix = first_two[0]
    return prefix


def list_parallel(
    store: BrowsableStore,
    prefix: str = "",
    delimiter: str = "/",
    workers: int = 8,
    queue_size: int = 2000,
    lookahead: int = 1000,
    max_descend: int = 8,
) -> Generator[ObjectRecord, None, None]:
    """Every object under `prefix`, same records and order as `store.list_objects(prefix)`, listed by
    up to `workers` threads, one sub-prefix (found with `delimiter`) per thread."""
    if workers < 1 or queue_size < 1 or lookahead < 1:
        raise ValueError("workers, queue_size and lookahead must be at least 1")
    prefix = _descend(store, prefix, delimiter, max_descend)
    window = _Window(store.list_level(prefix, delimiter), lookahead, queue_size)
    stop = threading.Event()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="list-parallel")
    try:
        yield from _consume(store, window, executor, workers, stop)
    finally:
        stop.set()  # workers blocked on a full queue notice within _POLL_SECONDS and exit
        executor.shutdown(wait=True, cancel_futures=True)


def _consume(
    store: BrowsableStore,
    window: _Window,
    executor: ThreadPoolExecutor,
    workers: int,
    stop: threading.Event,
) -> Iterator[ObjectRecord]:
    while True:
        window.fill()
        while window.running < workers and window.unstarted:
            executor.submit(_produce, store, window.unstarted.popleft(), stop)
            window.running += 1
        if not window.pending:
            return
        head = window.pending.popleft()
        if isinstance(head, ObjectRecord):
            yield head
        else:
            yield from _drain(head)
            window.running -= 1

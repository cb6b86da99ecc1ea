"""Store: documents, queries, counters, transactions, persistence (no server)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from encord_emulator.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path)


def test_put_get_overwrite_delete(store: Store) -> None:
    store.put("thing", "a", {"n": 1})
    store.put("thing", "a", {"n": 2})
    assert store.get("thing", "a") == {"n": 2}
    assert store.get("other", "a") is None
    store.delete("thing", "a")
    assert store.get("thing", "a") is None


def test_query_filters_on_fields_and_keeps_insertion_order(store: Store) -> None:
    for index in range(6):
        store.put(
            "item",
            f"i{index}",
            {"parent": "p" if index % 2 else "q", "n": index, "flag": index > 3, "x": None},
        )
    assert [doc["n"] for doc in store.query("item", parent="p")] == [1, 3, 5]
    assert [doc["n"] for doc in store.query("item", parent="p", flag=True)] == [5]
    assert len(store.query("item", x=None)) == 6
    assert store.count("item", parent="q") == 3
    assert store.get_many("item", ["i1", "nope", "i2"]).keys() == {"i1", "i2"}
    with pytest.raises(ValueError, match="not a queryable field"):
        store.query("item", **{"bad-name": 1})


def test_transaction_rolls_back_on_error(store: Store) -> None:
    store.put("k", "keep", {"v": 1})
    with pytest.raises(RuntimeError), store.transaction():
        store.put("k", "lost", {"v": 2})
        with store.transaction():
            store.put("k", "keep", {"v": 3})
        raise RuntimeError("boom")
    assert store.get("k", "lost") is None
    assert store.get("k", "keep") == {"v": 1}


def test_sequences_are_unique_under_threads_and_persist(tmp_path: Path) -> None:
    store = Store(tmp_path)
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            value = store.next_seq("job")
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 201))
    store.put("doc", "x", {"ok": True})
    store.close()
    reopened = Store(tmp_path)
    assert reopened.next_seq("job") == 201
    assert reopened.get("doc", "x") == {"ok": True}
    assert reopened.kinds() == {"doc": 1}

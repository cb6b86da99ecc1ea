"""Store: documents, queries, counters, transactions, persistence (no server)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from encord_emulator.core.store import Store


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


def _position(doc: dict[str, object]) -> tuple[str, str]:
    return (str(doc.get("name") or ""), str(doc["id"]))


@pytest.mark.parametrize("desc", [False, True])
def test_scan_walks_in_key_order_from_any_cursor(store: Store, desc: bool) -> None:
    """Ordered by (field or "", id), ties on the field settled by id, missing fields first, other kinds and
    other parents left out; resumes strictly after any cursor, across read batches."""
    names = ["b", "a", None, "b", "c", "a", "", "b"] * 5
    for index, name in enumerate(names):
        doc = {"id": f"{index:03d}", "parent": "p" if index % 7 else "q", "name": name}
        store.put("item", doc["id"], doc)
    store.put("folder", "x", {"id": "x", "parent": "p", "name": "a"})
    expected = sorted((d for d in store.query("item") if d["parent"] == "p"), key=_position, reverse=desc)
    assert list(store.scan("item", "name", desc=desc, batch=3, parent="p")) == expected
    for cut in (0, 5, 17, len(expected) - 1):
        cursor = _position(expected[cut])
        assert (
            list(store.scan("item", "name", after=cursor, desc=desc, batch=4, parent="p"))
            == expected[cut + 1 :]
        )


def test_scan_seeks_along_an_index(store: Store) -> None:
    next(store.scan("item", "name", parent="p"), None)
    indexes = {row[0] for row in store._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_docs_by__parent__name" in indexes
    key = "ifnull(json_extract(doc, '$.name'), '')"
    plan = store._conn.execute(
        f"EXPLAIN QUERY PLAN SELECT id FROM docs WHERE kind = 'item' AND json_extract(doc, '$.parent') = 'p' "
        f"AND {key} >= 'a' AND ({key} > 'a' OR id > 'b') ORDER BY {key}, id LIMIT 5"
    ).fetchall()
    assert (
        "ix_docs_by__parent__name" in str(plan) and "<expr>>?" in str(plan) and "TEMP B-TREE" not in str(plan)
    )

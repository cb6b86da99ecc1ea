"""Shared checks every storage backend must pass; called from test_storage_{s3,gcs,azure}.py.

Holds no tests itself. Each check takes a store on an empty bucket whose page size is small (4), so
every listing spans several pages, and `markers=False` for emulators that cannot store a directory
marker (fake-gcs-server's filesystem backend accepts `a/` but silently drops it once `a/b` exists).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from encord_provider.storage.base import BrowsableStore
from encord_provider.storage.errors import ObjectNotFoundError
from encord_provider.storage.filters import FilterStats, ListingFilter, list_filtered
from encord_provider.storage.parallel import list_parallel
from encord_provider.storage.urls import key_from_url

PAGE_SIZE = 4
# 1009 bytes, under every cloud's 1024-byte key limit; segments stay under the 255-byte file-name limit
# of emulators that store objects as files (fake-gcs-server).
LONG_KEY = "long/" + "/".join(["k" * 199] * 5) + ".bin"
ODD_KEYS = [
    "odd/with space.jpg",
    "odd/plus+sign (1).jpg",
    "odd/ünïcødé-日本.jpg",
    "odd/percent%20literal.jpg",
    "odd/hash#and?query.jpg",
    LONG_KEY,
]
PLAIN_KEYS = [f"data/p{p}/img_{i:02d}.jpg" for p in range(3) for i in range(5)] + [
    "data/p1/notes.txt",
    "data/top.jpg",
    "data/p2/",  # a directory marker
    "sidecars/a.jpg.encord.json",
]
ALL_KEYS = PLAIN_KEYS + ODD_KEYS
MARKER = "data/p2/"


def all_keys(markers: bool) -> list[str]:
    return [k for k in ALL_KEYS if markers or k != MARKER]


def body_of(key: str) -> bytes:
    return f"body of {key}".encode()


def seed(store: BrowsableStore, keys: list[str]) -> None:
    for key in keys:
        store.write_bytes(key, b"" if key.endswith("/") else body_of(key))


def listed_keys(store: BrowsableStore, prefix: str = "", start_after: str | None = None) -> list[str]:
    return [r.key for r in store.list_objects(prefix, start_after)]


def check_listing_pages_prefix_and_start_after(store: BrowsableStore, markers: bool = True) -> None:
    assert store.page_size == PAGE_SIZE  # type: ignore[attr-defined]
    keys = all_keys(markers)
    seed(store, keys)
    assert listed_keys(store) == sorted(keys)
    assert listed_keys(store, "data/p1/") == sorted(k for k in keys if k.startswith("data/p1/"))
    assert listed_keys(store, "nothing-here/") == []
    after = "data/p1/img_02.jpg"
    expected = sorted(k for k in keys if k.startswith("data/") and k > after)
    assert listed_keys(store, "data/", start_after=after) == expected
    assert listed_keys(store, "data/", start_after="data/p0/") == sorted(
        k for k in keys if k.startswith("data/")
    )
    assert listed_keys(store, "data/", start_after="zzz") == []


def check_records_and_urls(store: BrowsableStore, markers: bool = True) -> None:
    keys = all_keys(markers)
    seed(store, keys)
    records = {r.key: r for r in store.list_objects()}
    assert set(records) == set(keys)
    for key, record in records.items():
        assert record.size == len(b"" if key.endswith("/") else body_of(key))
        assert record.etag and not record.etag.startswith('"')
        assert record.last_modified.tzinfo is not None
        assert record.url == store.object_url(key)
        assert " " not in record.url
        assert key_from_url(record.url) == key
        assert store.uri(key) == f"{store.scheme}://{store.bucket}/{key}"
    stat = store.stat("odd/plus+sign (1).jpg")
    assert (stat.key, stat.size, stat.etag) == (
        "odd/plus+sign (1).jpg",
        records["odd/plus+sign (1).jpg"].size,
        records["odd/plus+sign (1).jpg"].etag,
    )


def check_read_write(store: BrowsableStore, markers: bool = True) -> None:
    seed(store, ODD_KEYS)
    for key in ODD_KEYS:
        assert store.exists(key)
        assert store.read_bytes(key) == body_of(key)
        assert store.read_range(key, 3, 5) == body_of(key)[3:8]
    key = "odd/with space.jpg"
    size = len(body_of(key))
    assert store.read_range(key, size - 2, 100) == body_of(key)[-2:]
    assert store.read_range(key, size + 10, 5) == b""
    assert store.read_range(key, 0, 0) == b""
    store.write_bytes("chunks/c 1.json", b'{"images": []}', content_type="application/json")
    store.write_bytes("chunks/c 1.json", b'{"images": [1]}')  # overwrite
    assert store.read_bytes("chunks/c 1.json") == b'{"images": [1]}'
    assert not store.exists("chunks/missing.json")
    for call in (lambda: store.read_bytes("chunks/missing.json"), lambda: store.stat("chunks/missing.json")):
        with pytest.raises(ObjectNotFoundError, match="chunks/missing.json"):
            call()


def check_filters(store: BrowsableStore, markers: bool = True) -> None:
    keys = all_keys(markers)
    seed(store, keys)
    stats = FilterStats()
    listing_filter = ListingFilter(
        prefix="data/", include=("*.jpg",), exclude=("data/p0/**",), sidecar_suffixes=(".encord.json",)
    )
    kept = [r.key for r in list_filtered(store, listing_filter, stats)]
    expected = sorted(
        k for k in PLAIN_KEYS if k.startswith("data/") and k.endswith(".jpg") and "/p0/" not in k
    )
    assert kept == expected
    data_keys = [k for k in keys if k.startswith("data/")]
    assert stats.seen == len(data_keys)
    expected_skips = {"directory_marker": 1} if markers else {}
    assert stats.skipped == {**expected_skips, "not_included": 1, "excluded": 5}
    big = ListingFilter(min_size=len(body_of(LONG_KEY)))
    assert [r.key for r in list_filtered(store, big)] == [LONG_KEY]


def check_watermark(store: BrowsableStore, markers: bool = True) -> None:
    seed(store, ["wm/old-1.jpg", "wm/old-2.jpg"])
    old_newest = max(r.last_modified for r in store.list_objects("wm/"))
    time.sleep(1.2)  # listings carry second precision: make the next writes land in a later second
    seed(store, ["wm/new-1.jpg", "wm/new-2.jpg"])
    watermark = old_newest + timedelta(seconds=1)
    fresh = ListingFilter(prefix="wm/", modified_since=watermark)
    assert [r.key for r in list_filtered(store, fresh)] == ["wm/new-1.jpg", "wm/new-2.jpg"]
    lagged = ListingFilter(prefix="wm/", modified_since=watermark, safety_lag=timedelta(seconds=5))
    assert len(list(list_filtered(store, lagged))) == 4
    stats = FilterStats()
    list(list_filtered(store, fresh, stats))
    assert stats.skipped == {"before_watermark": 2} and stats.max_last_modified is not None
    assert stats.max_last_modified >= watermark


def check_parallel_equals_sequential(store: BrowsableStore, markers: bool = True) -> None:
    seed(store, all_keys(markers))
    for prefix in ("", "data/", "odd/"):
        sequential = list(store.list_objects(prefix))
        assert list(list_parallel(store, prefix, workers=4, queue_size=3)) == sequential
    level = [e if isinstance(e, str) else e.key for e in store.list_level("data/")]
    assert level == ["data/p0/", "data/p1/", "data/p2/", "data/top.jpg"]


def check_delete(store: BrowsableStore, markers: bool = True) -> None:
    seed(store, ["del/a.txt", "del/b.txt", "del/sub/c.txt", ODD_KEYS[2]])
    store.delete("del/a.txt")
    store.delete("del/a.txt")  # again: deleting is idempotent
    store.delete("del/never-existed.txt")
    store.delete(ODD_KEYS[2])
    assert listed_keys(store, "del/") == ["del/b.txt", "del/sub/c.txt"]
    assert not store.exists("del/a.txt") and not store.exists(ODD_KEYS[2])
    with pytest.raises(ObjectNotFoundError, match="del/a.txt"):
        store.read_bytes("del/a.txt")
    store.delete("del/sub/c.txt")
    assert listed_keys(store, "del/") == ["del/b.txt"]


# Above U+FFFF (surrogate pairs in UTF-16) vs U+E000..U+FFFF: Azure's order differs from code points.
ORDER_KEYS = ["order/😀.jpg", "order/（1）.jpg", "order/a.jpg", "order/\ue000.jpg", "order/😀/x.jpg",
              "order/（1）/y.jpg", "order/ÿ.jpg"]  # fmt: skip


def check_listing_order_is_the_backends_own(store: BrowsableStore, markers: bool = True) -> None:
    """Listings come in `store.key_order`, and a sorted-input manifest build accepts them as they come."""
    import tempfile

    from encord_provider.manifests import LocalDirSink, ManifestConfig, build_manifests

    seed(store, ORDER_KEYS)
    listed = listed_keys(store, "order/")
    assert listed == sorted(ORDER_KEYS, key=store.key_order)  # type: ignore[attr-defined]
    assert [r.key for r in list_parallel(store, "order/", workers=2, queue_size=2)] == listed
    with tempfile.TemporaryDirectory() as out:
        summary = build_manifests(
            store.list_objects("order/"), ManifestConfig(image_mode="group"), LocalDirSink(out), store=store
        )
    assert summary.n_registered_objects == len(ORDER_KEYS) and summary.n_rejected == 0


ALL_CHECKS: list[Callable[..., None]] = [
    check_listing_order_is_the_backends_own,
    check_listing_pages_prefix_and_start_after,
    check_records_and_urls,
    check_read_write,
    check_filters,
    check_watermark,
    check_parallel_equals_sequential,
    check_delete,
]

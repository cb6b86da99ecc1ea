"""Random interleavings of writers and compactions: a read always equals "the last write of each key wins".

Writers are fresh tasks (they scan the ledger just before writing) or one stale task that opened the
ledger at the start and writes its own keys only (as mapped register tasks do); compactions run with or
without a grace period, sometimes with a segment PUT landing while they run. The bucket's clock moves on
between steps. No wall clock takes part.
"""

from __future__ import annotations

from collections.abc import Callable

from encord_provider.ledger import Ledger, LedgerRecord, ObjectState
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_ledger_store import PREFIX, MemoryStore

KEYS = [f"k{i}.jpg" for i in range(4)]
STATES = [ObjectState.PENDING, ObjectState.SUBMITTED, ObjectState.REGISTERED, ObjectState.LINKED]

write = st.tuples(st.just("write"), st.sampled_from(KEYS), st.integers(0, 3))
stale = st.tuples(st.just("stale"), st.sampled_from(["s0.jpg", "s1.jpg"]), st.integers(0, 3))
compact = st.tuples(st.just("compact"), st.sampled_from([0, 120]), st.just(0))
racing = st.tuples(st.just("racing"), st.sampled_from(KEYS), st.integers(0, 3))
tick = st.tuples(st.just("tick"), st.sampled_from([1, 60, 300]), st.just(0))


def _record(key: str, attempts: int) -> LedgerRecord:
    return LedgerRecord(key=key, etag="e", state=STATES[attempts], attempts=attempts)


def _put_once_segments_are_listed(store: MemoryStore, record: LedgerRecord) -> Callable[[str], None]:
    """A hook for the store: the first time segments are listed, another writer PUTs `record`."""
    fired: list[bool] = []

    def put(prefix: str) -> None:
        if prefix.endswith("/segments/") and not fired:
            fired.append(True)
            Ledger(store, PREFIX).scan().write([record])

    return put


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(write, stale, compact, racing, tick), min_size=1, max_size=25))
def test_reads_equal_the_last_write_of_each_key(steps: list[tuple[str, object, int]]) -> None:
    store = MemoryStore()
    stale_writer = Ledger(store, PREFIX).scan()
    model: dict[str, int] = {}
    for op, arg, value in steps:
        if op == "write":
            Ledger(store, PREFIX).scan().write([_record(str(arg), value)])
            model[str(arg)] = value
        elif op == "stale":
            stale_writer.write([_record(str(arg), value)])
            model[str(arg)] = value
        elif op == "compact":
            Ledger(store, PREFIX).compact(grace_seconds=float(arg))  # type: ignore[arg-type]
        elif op == "racing":
            store.after_list = _put_once_segments_are_listed(store, _record(str(arg), value))
            Ledger(store, PREFIX).compact(grace_seconds=0)
            store.after_list = None
            model[str(arg)] = value
        else:
            store.tick(float(arg))  # type: ignore[arg-type]
        loaded = Ledger(store, PREFIX).load()
        assert {k: r.attempts for k, r in loaded.records.items()} == model
        assert loaded.problems == []

"""The pipeline lease (`ingest.lease`): one run at a time, expiry after a crash, renew and release."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from encord_provider.ingest.errors import LeaseHeldError, LeaseLostError
from encord_provider.ingest.lease import PipelineLease

from tests.unit.ingest_fakes import staging


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _lease(tmp_path: Path, clock: Clock, ttl: float = 60.0) -> PipelineLease:
    return PipelineLease(staging(tmp_path), "ledger/p/lease.json", ttl, clock=clock, sleep=lambda s: None)


def test_one_holder_at_a_time_until_released(tmp_path: Path) -> None:
    clock = Clock()
    lease = _lease(tmp_path, clock)
    mine = lease.try_acquire("run-a")
    assert mine is not None and "run-a" in mine.holder
    assert lease.try_acquire("run-b") is None
    with pytest.raises(LeaseHeldError, match="run-a"):
        lease.acquire("run-b", wait_seconds=0)
    assert lease.release(mine.token)
    theirs = lease.try_acquire("run-b")
    assert theirs is not None and theirs.token != mine.token
    assert not lease.release(mine.token)  # not ours any more


def test_a_crashed_holder_is_taken_over_after_expiry(tmp_path: Path) -> None:
    clock = Clock()
    lease = _lease(tmp_path, clock, ttl=60)
    crashed = lease.try_acquire("run-a")
    assert crashed is not None
    clock.now += timedelta(seconds=59)
    assert lease.try_acquire("run-b") is None
    clock.now += timedelta(seconds=2)
    taker = lease.try_acquire("run-b")
    assert taker is not None
    with pytest.raises(LeaseLostError, match="run-b"):
        lease.renew(crashed.token)  # the crashed run, if it comes back, must stop


def test_renewal_pushes_expiry_forward(tmp_path: Path) -> None:
    clock = Clock()
    lease = _lease(tmp_path, clock, ttl=60)
    mine = lease.try_acquire("run-a")
    assert mine is not None
    for _ in range(5):
        clock.now += timedelta(seconds=50)
        renewed = lease.renew(mine.token)
    assert datetime.fromisoformat(renewed.expires_at) == clock.now + timedelta(seconds=60)
    assert lease.try_acquire("run-b") is None


def test_racing_acquirers_have_one_winner(tmp_path: Path) -> None:
    clock = Clock()
    barrier = threading.Barrier(8)
    winners: list[str] = []

    def take(index: int) -> None:
        lease = _lease(tmp_path, clock)
        barrier.wait()
        got = lease.try_acquire(f"run-{index}")
        if got is not None:
            winners.append(got.token)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_sibling_tasks_renewing_together_keep_the_lease(tmp_path: Path) -> None:
    clock = Clock()
    lease = _lease(tmp_path, clock)
    mine = lease.try_acquire("run-a")
    assert mine is not None
    errors: list[BaseException] = []

    def renew() -> None:
        try:
            _lease(tmp_path, clock).renew(mine.token)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=renew) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors

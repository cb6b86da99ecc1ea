"""Watermarks through whole runs (moto + the Encord emulator): limited manual runs leave the pipeline's
watermark alone; the polling trigger finds same-second and late objects once. Each ends with the
exactly-once check."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import pytest

from tests.dags.test_ingest_ledger import DAG_ID, assert_exactly_once, new_images, s3_pipeline, staging_ledger
from tests.dags.test_ingest_support import folder_items, run_dag, task_states

pytestmark = pytest.mark.timeout(400)


@pytest.fixture
def config(request: pytest.FixtureRequest) -> dict[str, Any]:
    return s3_pipeline(request, trigger={"mode": "polling", "poll_interval_seconds": 0.1})


def last_modified(s3_client: Any, key: str) -> datetime:
    modified: datetime = s3_client.head_object(Bucket="media", Key=key)["LastModified"]
    return modified


def watermark(s3_client: Any) -> datetime | None:
    mark = staging_ledger(s3_client).watermark.last_modified
    return datetime.fromisoformat(mark) if mark else None


def registered_names(encord_client: Any, config: dict[str, Any]) -> list[str]:
    return sorted(i.name for i in folder_items(encord_client, config["folder"]["name"]))


def test_limited_manual_runs_leave_the_watermark_and_a_full_run_finds_the_rest(
    config: dict[str, Any], s3_client: Any, encord_client: Any
) -> None:
    early = new_images(s3_client, "a/1", "a/2", "b/3", "b/4", "b/5")
    time.sleep(1.1)  # listings carry seconds: the next objects land in a later one
    late = new_images(s3_client, "c/6", "c/7")

    by_prefix = run_dag(DAG_ID, prefix="in/a/")
    assert by_prefix.state == "success", task_states(by_prefix)
    assert registered_names(encord_client, config) == ["in/a/1.jpg", "in/a/2.jpg"]
    assert watermark(s3_client) is None

    by_since = run_dag(DAG_ID, since=last_modified(s3_client, late[0]).isoformat())
    assert by_since.state == "success", task_states(by_since)
    assert len(registered_names(encord_client, config)) == 4
    assert watermark(s3_client) is None

    capped = run_dag(DAG_ID, max_objects=1)
    assert capped.state == "success", task_states(capped)
    assert len(registered_names(encord_client, config)) == 5
    assert watermark(s3_client) is None

    full = run_dag(DAG_ID)
    assert full.state == "success", task_states(full)
    assert registered_names(encord_client, config) == sorted(early + late)
    assert watermark(s3_client) == max(last_modified(s3_client, key) for key in early + late)
    assert_exactly_once(s3_client, encord_client, config, full)


class ReplicationLag:
    """A source store whose listing hides `hidden` keys, as a bucket does until a replicated (or multipart)
    object becomes visible with its original, older LastModified."""

    def __init__(self, store: Any, hidden: set[str]) -> None:
        self.store, self.hidden = store, hidden

    def list_objects(self, prefix: str = "", start_after: str | None = None) -> Any:
        return (r for r in self.store.list_objects(prefix, start_after) if r.key not in self.hidden)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def _sleep_to_the_start_of_a_second() -> None:
    await asyncio.sleep(1.02 - time.time() % 1)


def test_the_polling_trigger_finds_same_second_and_late_objects_once(
    config: dict[str, Any], s3_client: Any, encord_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import encord_provider.triggers.bucket_poll as bucket_poll
    from encord_provider.config.ingest import IngestPipeline
    from encord_provider.operators.ingest_dag import source_watcher

    new_images(s3_client, "before_0", "before_1")
    first = run_dag(DAG_ID)
    assert first.state == "success", task_states(first)
    hidden = {"in/late.jpg"}
    real_open, real_bucket = bucket_poll.open_store, bucket_poll.open_bucket
    monkeypatch.setattr(
        bucket_poll, "open_store", lambda *args, **kwargs: ReplicationLag(real_open(*args, **kwargs), hidden)
    )
    monkeypatch.setattr(  # the poll opens the source by its parts (storage.factory.open_bucket)
        bucket_poll,
        "open_bucket",
        lambda *args, **kwargs: ReplicationLag(real_bucket(*args, **kwargs), hidden),
    )
    trigger = source_watcher(IngestPipeline.model_validate(config)).trigger
    assert trigger.safety_lag_seconds == 900 and trigger.poll_interval == 0.1

    async def scenario() -> tuple[list[list[str]], bool]:
        events: asyncio.Queue[Any] = asyncio.Queue()

        async def collect() -> None:
            async for event in trigger.run():
                await events.put(event)

        async def next_keys(timeout: float = 10.0) -> list[str]:
            return list((await asyncio.wait_for(events.get(), timeout)).payload["keys"])

        async def put(name: str) -> list[str]:
            return await asyncio.to_thread(new_images, s3_client, name)

        async def quiet(seconds: float) -> bool:
            try:
                await asyncio.wait_for(events.get(), seconds)
            except TimeoutError:
                return True
            return False

        watcher = asyncio.create_task(collect())
        announced: list[list[str]] = []
        same_second = False
        try:
            assert await quiet(1.0)  # everything in the lag window is already in the ledger
            for attempt in range(5):  # an object in the same second as the newest one the trigger saw
                await _sleep_to_the_start_of_a_second()
                newest = await put(f"newest_{attempt}")
                announced.append(await next_keys())
                assert announced[-1] == newest
                same = await put(f"same_second_{attempt}")
                announced.append(await next_keys())
                assert announced[-1] == same
                same_second = last_modified(s3_client, same[0]) == last_modified(s3_client, newest[0])
                if same_second:
                    break
            late = await put("late")  # listed only after a newer object has moved the watermark past it
            await asyncio.sleep(1.1)
            after = await put("after_late")
            announced.append(await next_keys())
            assert announced[-1] == after
            hidden.clear()
            announced.append(await next_keys())
            assert announced[-1] == late
            assert await quiet(1.5)  # fifteen more polls inside the lag: nothing is announced twice
        finally:
            watcher.cancel()
        return announced, same_second

    announced, same_second = asyncio.run(scenario())
    assert same_second, "could not write two objects within one second in five tries"
    assert last_modified(s3_client, "in/late.jpg") < last_modified(s3_client, "in/after_late.jpg")

    second = run_dag(DAG_ID)
    assert second.state == "success", task_states(second)
    assert set(registered_names(encord_client, config)) >= {k for keys in announced for k in keys}
    assert_exactly_once(s3_client, encord_client, config, second)

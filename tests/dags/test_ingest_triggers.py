"""Triggers and event parsing: upload-job wait against the emulator, bucket polling and SQS on moto."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from encord_provider.ingest.events import keys_from_asset_events, keys_from_payload
from encord_provider.triggers.bucket_poll import BucketPollTrigger
from encord_provider.triggers.upload_job import UploadJobTrigger

pytestmark = pytest.mark.timeout(120)


async def _first_event(trigger: Any, timeout: float = 30.0) -> Any:
    agen = trigger.run()
    try:
        return await asyncio.wait_for(agen.__anext__(), timeout)
    finally:
        await agen.aclose()


def _roundtrip(trigger: Any) -> Any:
    from airflow.sdk._shared.module_loading import import_string

    path, kwargs = trigger.serialize()
    json.dumps(kwargs)
    return import_string(path)(**kwargs)


def test_triggers_serialize_to_importable_json() -> None:
    upload = _roundtrip(UploadJobTrigger("c", "f", "j", poll_interval=1.5))
    assert (upload.upload_job_id, upload.poll_interval) == ("j", 1.5)
    poll = _roundtrip(BucketPollTrigger("s3", "b", "p/", "aws", None, 5.0, {"scheme": "s3"}, None))
    assert (poll.bucket, poll.staging) == ("b", {"scheme": "s3"})


def test_upload_job_trigger_reports_a_finished_job(
    encord_emulator: Any, encord_client: Any, s3_client: Any, moto_endpoint: str
) -> None:
    from demo.media import image_bytes

    s3_client.create_bucket(Bucket="media")
    s3_client.put_object(Bucket="media", Key="a.jpg", Body=image_bytes(8, 8, (1, 2, 3)))
    encord_emulator.admin_post(
        "/admin/seed",
        {"integrations": [{"title": "trig-aws", "provider": "aws", "endpoint_url": moto_endpoint}]},
    )
    integration = next(i for i in encord_client.get_cloud_integrations() if i.title == "trig-aws")
    folder = encord_client.create_storage_folder(f"trigger-{datetime.now(UTC).timestamp()}")
    job = folder.add_private_data_to_folder_start(
        integration.id, {"images": [{"objectUrl": "s3://media/a.jpg", "title": "a.jpg"}], "skip_duplicate_urls": True},
        ignore_errors=True,
    )  # fmt: skip
    event = asyncio.run(
        _first_event(UploadJobTrigger("encord_test", str(folder.uuid), str(job), poll_interval=0.2))
    )
    assert event.payload["status"] == "DONE" and event.payload["units_done"] == 1


def test_upload_job_trigger_never_fires_within_2_5_s_of_deferring() -> None:
    """apache/airflow#71580: a trigger that fires within ~2 s of deferring can get its task killed. Even a
    job that is already done is reported only after the first-poll delay, which cannot be set lower."""
    import time

    from encord_provider.encord_api import JobState

    polls: list[float] = []

    class DoneAtOnce(UploadJobTrigger):
        def poll(self) -> JobState:
            polls.append(time.monotonic())
            return JobState(status="DONE", done=1)

    trigger = DoneAtOnce("c", "f", "j", poll_interval=0.1, first_poll_delay=0.2)
    assert trigger.first_poll_delay == 2.5
    started = time.monotonic()
    event = asyncio.run(_first_event(trigger))
    assert event.payload["status"] == "DONE" and event.payload["units_done"] == 1
    assert polls and polls[0] - started >= 2.5


def test_upload_job_trigger_gives_up_on_an_unknown_job(encord_emulator: Any, encord_client: Any) -> None:
    folder = encord_client.create_storage_folder(f"trigger-missing-{datetime.now(UTC).timestamp()}")
    trigger = UploadJobTrigger("encord_test", str(folder.uuid), "00000000-0000-0000-0000-000000000001", 0.1)
    event = asyncio.run(_first_event(trigger))
    assert event.payload["status"] == "error" and "ResourceNotFoundError" in event.payload["error"]


def test_bucket_poll_trigger_fires_for_objects_after_the_watermark(
    s3_client: Any, moto_endpoint: str
) -> None:
    s3_client.create_bucket(Bucket="watched")
    s3_client.put_object(Bucket="watched", Key="in/new.jpg", Body=b"x")
    s3_client.put_object(Bucket="watched", Key="other/skip.jpg", Body=b"x")
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    trigger = BucketPollTrigger("s3", "watched", "in/", "aws_test", None, 0.1, None, since)
    event = asyncio.run(_first_event(trigger))
    assert event.payload["keys"] == ["in/new.jpg"] and event.payload["count"] == 1

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    quiet = BucketPollTrigger("s3", "watched", "in/", "aws_test", None, 0.1, None, future)
    with pytest.raises(TimeoutError):
        asyncio.run(_first_event(quiet, timeout=1.0))


S3_EVENT = {
    "Records": [
        {"eventName": "ObjectCreated:Put",
         "s3": {"bucket": {"name": "media"}, "object": {"key": "in/my+photo%281%29.jpg", "size": 3}}},
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "media"}, "object": {"key": "in/gone.jpg"}}},
    ]
}  # fmt: skip


def test_s3_event_keys_are_decoded_and_test_events_skipped() -> None:
    payload = {"message_batch": [{"Body": json.dumps(S3_EVENT)}, {"Body": json.dumps({"Event": "s3:TestEvent"})},
                                 {"Body": "not json"}]}  # fmt: skip
    assert keys_from_payload(payload) == ["in/my photo(1).jpg"]

    class Event:
        extra = {"from_trigger": True, "payload": {"keys": ["a.jpg"]}}

    assert keys_from_asset_events({"asset": [Event()]}) == ["a.jpg"]
    assert keys_from_asset_events(None) == []


def test_sqs_trigger_delivers_s3_notifications(sqs_client: Any, moto_endpoint: str) -> None:
    pytest.importorskip("aiobotocore")
    from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger

    url = sqs_client.create_queue(QueueName="ingest-events")["QueueUrl"]
    sqs_client.send_message(QueueUrl=url, MessageBody=json.dumps(S3_EVENT))
    event = asyncio.run(_first_event(SqsSensorTrigger(sqs_queue=url, aws_conn_id="aws_test", waiter_delay=1)))
    assert keys_from_payload(event.payload) == ["in/my photo(1).jpg"]

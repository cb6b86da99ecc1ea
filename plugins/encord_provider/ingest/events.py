"""Read the object keys out of the asset events that started an event-driven ingest run.

S3 notifications (via SqsSensorTrigger) carry `message_batch[*].Body` = the S3 event JSON, whose keys are
URL-encoded (`a+b%2Fc.jpg`); `s3:TestEvent` messages (sent when notifications are configured) are skipped.
BucketPollTrigger events carry `keys` directly. The run itself still lists the prefix through the ledger,
so the keys only narrow what the log reports; a lost or duplicated message cannot lose or double an object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus


def _s3_keys(body: Mapping[str, Any]) -> list[str]:
    if body.get("Event") == "s3:TestEvent":
        return []
    keys = []
    for record in body.get("Records", []):
        if not str(record.get("eventName", "ObjectCreated")).startswith("ObjectCreated"):
            continue
        obj = record.get("s3", {}).get("object", {})
        if "key" in obj:
            keys.append(unquote_plus(obj["key"]))
    return keys


def keys_from_payload(payload: Mapping[str, Any]) -> list[str]:
    keys: list[str] = list(payload.get("keys", []))
    for message in payload.get("message_batch", []):
        try:
            body = json.loads(message.get("Body", "{}"))
        except (TypeError, ValueError):
            continue
        if isinstance(body, dict):
            keys.extend(_s3_keys(body))
    return keys


def keys_from_asset_events(events: Mapping[Any, Iterable[Any]] | None) -> list[str]:
    """Keys named by `context["triggering_asset_events"]` (empty for cron and manual runs)."""
    keys: list[str] = []
    for asset_events in (events or {}).values():
        for event in asset_events:
            extra = getattr(event, "extra", None) or {}
            keys.extend(keys_from_payload(extra.get("payload") or {}))
    return keys

"""`encord_api`: one classification of SDK errors, retries only where the SDK allows them."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import pytest
from encord import exceptions as sdk
from encord_provider.config.ingest import IntegrationRef
from encord_provider.encord_api import EncordApi, ErrorKind, JobState, RetryPolicy, classify
from encord_provider.ingest.errors import (
    AmbiguousWriteError,
    EncordAccessError,
    EncordTargetError,
    EncordUnavailableError,
    PermanentIngestError,
    TransientIngestError,
)

FAST = RetryPolicy(attempts=3, base_delay=0.0)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (sdk.RateLimitExceededError(retry_after=0), ErrorKind.RATE_LIMITED),
        (sdk.UnknownException("502 bad gateway"), ErrorKind.UNAVAILABLE),
        (sdk.RequestException("connection reset"), ErrorKind.UNAVAILABLE),
        (ConnectionError("refused"), ErrorKind.UNAVAILABLE),
        (sdk.ResourceNotFoundError("gone"), ErrorKind.NOT_FOUND),
        (sdk.AuthenticationError("bad key"), ErrorKind.ACCESS),
        (sdk.AuthorisationError("not yours"), ErrorKind.ACCESS),
        (sdk.InvalidArgumentsError("bad manifest"), ErrorKind.REJECTED),
        (ValueError("a bug"), ErrorKind.OTHER),
    ],
)
def test_classification(error: BaseException, kind: ErrorKind) -> None:
    assert classify(error) is kind


class Calls:
    """A callable that fails with the given errors in turn, then returns `result`."""

    def __init__(self, *errors: BaseException, result: Any = "ok") -> None:
        self.errors = list(errors)
        self.result = result
        self.count = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def _api_with_folder(start: Calls) -> EncordApi:
    folder = NS(add_private_data_to_folder_start=start)
    client = NS(get_storage_folder=lambda uuid: folder)
    return EncordApi(client, conn_id="encord_prod", domain="https://api.encord.com", retry=FAST)


def test_a_job_start_that_got_a_5xx_is_never_sent_again() -> None:
    start = Calls(sdk.UnknownException("502"))
    with pytest.raises(AmbiguousWriteError, match="may have carried it out"):
        _api_with_folder(start).start_upload_job("00000000-0000-0000-0000-000000000001", "i", {})
    assert start.count == 1


def test_a_rate_limited_job_start_is_sent_again() -> None:
    start = Calls(sdk.RateLimitExceededError(retry_after=0), result="job-1")
    assert (
        _api_with_folder(start).start_upload_job("00000000-0000-0000-0000-000000000001", "i", {}) == "job-1"
    )
    assert start.count == 2


def test_reads_are_retried_then_reported_as_transient() -> None:
    listing = Calls(
        sdk.UnknownException("503"), sdk.RequestException("reset"), result=[NS(id="u1", title="t")]
    )
    api = EncordApi(NS(get_cloud_integrations=listing), retry=FAST)
    assert api.integration_id(IntegrationRef(title="t")) == "u1" and listing.count == 3
    failing = Calls(*[sdk.UnknownException("503")] * 3)
    with pytest.raises(EncordUnavailableError) as err:
        EncordApi(NS(get_cloud_integrations=failing), retry=FAST).integration_id(IntegrationRef(title="t"))
    assert isinstance(err.value, TransientIngestError)


def test_permanent_errors_name_the_connection_or_the_target() -> None:
    refused = EncordApi(NS(get_cloud_integrations=Calls(sdk.AuthenticationError("no such key"))),
                        conn_id="encord_prod", domain="https://api.encord.com", retry=FAST)  # fmt: skip
    with pytest.raises(EncordAccessError, match="'encord_prod' \\(https://api.encord.com\\)") as err:
        refused.integration_id(IntegrationRef(title="t"))
    assert isinstance(err.value, PermanentIngestError)
    listing = Calls(result=[NS(id="u1", title="other")])
    with pytest.raises(EncordTargetError, match="no Encord cloud integration with title 'mine'.*'other'"):
        EncordApi(NS(get_cloud_integrations=listing), conn_id="c").integration_id(
            IntegrationRef(title="mine")
        )


def test_an_ambiguous_link_checks_the_dataset_and_links_only_what_is_missing() -> None:
    rows = [NS(backing_item_uuid="00000000-0000-0000-0000-00000000000a")]
    link = Calls(sdk.UnknownException("504"), result=[NS()])
    dataset = NS(link_items=link, data_rows=rows)
    api = EncordApi(NS(get_dataset=lambda *a, **k: dataset), retry=FAST)
    items = ["00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"]
    assert api.link_items("d", items) == 2  # one found linked after the 504, one linked again
    assert link.count == 2


def test_job_state_is_parsed_once_from_the_sdk_dto() -> None:
    from encord.orm.storage import UploadLongPollingState

    state = UploadLongPollingState.from_dict({
        "status": "DONE", "itemsWithNames": [{"itemUuid": "00000000-0000-0000-0000-000000000001", "name": "a.jpg"}],
        "errors": ["b: bad"], "unitsPendingCount": 0, "unitsDoneCount": 1, "unitsErrorCount": 1,
        "unitsCancelledCount": 0,
        "unitErrors": [{"objectUrls": ["s3://m/b.jpg"], "error": "bad", "subtaskUuid": "00000000-0000-0000-0000-000000000002",
                        "actionDescription": "Registering image b"}],
    })  # fmt: skip
    parsed = JobState.from_sdk(state)
    assert parsed.finished and parsed.items == {"a.jpg": "00000000-0000-0000-0000-000000000001"}
    assert parsed.unit_errors == {"s3://m/b.jpg": "Registering image b: bad"}
    assert parsed.counts() == {"units_pending": 0, "units_done": 1, "units_error": 1, "units_cancelled": 0}

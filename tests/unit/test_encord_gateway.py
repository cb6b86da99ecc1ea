"""`encord_api`: upload-job polling and status parsing, retries that respect non-retryable calls, and the
error hierarchy's one mapping to Airflow. No Airflow connection, no server."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import pytest
from encord import exceptions as sdk
from encord_provider.encord_api import EncordApi, JobState, RetryPolicy, UploadJobWatch, is_finished
from encord_provider.errors import EncordProviderError, PermanentError, TransientError
from encord_provider.ingest.errors import AmbiguousWriteError, EncordUnavailableError


def _sdk_state(status: str) -> Any:
    unit_error = NS(object_urls=["s3://b/a.jpg"], error="403 on read", action_description="fetch")
    return NS(status=NS(value=status), items_with_names=[NS(name="a.jpg", item_uuid="u-1")],
              unit_errors=[unit_error], errors=["one failed"], units_pending_count=0, units_done_count=1,
              units_error_count=1, units_cancelled_count=0)  # fmt: skip


def test_job_status_is_parsed_once_from_the_sdk_state() -> None:
    state = JobState.from_sdk(_sdk_state("DONE"))
    assert state.finished and state.succeeded
    assert state.items == {"a.jpg": "u-1"} and state.unit_errors == {"s3://b/a.jpg": "fetch: 403 on read"}
    assert state.counts() == {"units_pending": 0, "units_done": 1, "units_error": 1, "units_cancelled": 0}
    assert [is_finished(s) for s in ("DONE", "ERROR", "CANCELLED", "PENDING", "timeout", None)] == [
        True, True, True, False, False, False]  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _watch(polls: list[Any], clock: Clock, timeout: float = 100.0) -> UploadJobWatch:
    def poll() -> JobState:
        result = polls.pop(0)
        if isinstance(result, BaseException):
            raise result
        return result

    return UploadJobWatch(poll, interval=2.0, timeout=timeout, max_consecutive_errors=3, clock=clock)


def test_polling_waits_backs_off_after_transient_failures_and_stops_when_finished() -> None:
    clock = Clock()
    pending = JobState(status="PENDING", pending=1)
    watch = _watch([pending, EncordUnavailableError("503"), EncordUnavailableError("503"), pending,
                    JobState(status="ERROR", failed=1)], clock)  # fmt: skip
    steps = [watch.step() for _ in range(5)]
    assert [(s.stop, s.status, s.wait) for s in steps] == [
        (False, "PENDING", 2.0), (False, "PENDING", 4.0), (False, "PENDING", 8.0), (False, "PENDING", 2.0),
        (True, "ERROR", 0.0)]  # fmt: skip
    assert steps[-1].event() == {"units_pending": 0, "units_done": 0, "units_error": 1, "units_cancelled": 0}


def test_polling_gives_up_on_a_permanent_error_at_once_and_on_transient_ones_after_a_bound() -> None:
    clock = Clock()
    refused = _watch([sdk.AuthenticationError("bad key")], clock).step()
    assert refused.stop and refused.status == "error" and refused.event()["permanent"] is False
    transient = _watch([EncordUnavailableError("503")] * 3, clock)
    outcomes = [transient.step() for _ in range(3)]
    assert [o.stop for o in outcomes] == [False, False, True] and outcomes[-1].event()["attempts"] == 3

    class Refused(PermanentError):
        pass

    assert _watch([Refused("no")], clock).step().event()["permanent"] is True


def test_polling_times_out_only_on_a_pending_job() -> None:
    clock = Clock()
    watch = _watch([JobState(status="PENDING", pending=4)], clock, timeout=10.0)
    clock.now = 11.0
    outcome = watch.step()
    assert outcome.stop and outcome.status == "timeout" and outcome.event() == {"units_pending": 4}


def test_a_non_retryable_call_is_sent_once_and_its_retries_sleep_through_the_policy() -> None:
    sleeps: list[float] = []
    calls = {"n": 0}

    def link() -> None:
        calls["n"] += 1
        raise sdk.UnknownException("502")

    api = EncordApi(NS(), conn_id="c", retry=RetryPolicy(attempts=4, base_delay=1.0), sleep=sleeps.append)
    with pytest.raises(AmbiguousWriteError):
        api.write_once(link, "link items")
    assert calls["n"] == 1 and sleeps == []
    with pytest.raises(EncordUnavailableError):
        api.read(link, "get dataset")
    assert calls["n"] == 1 + 4 and sleeps == [1.0, 2.0, 4.0]


def test_project_reads_are_retried() -> None:
    answers: list[Any] = [sdk.RequestException("reset"), NS(project_hash="p1")]

    def get_project(project_hash: str) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    api = EncordApi(NS(get_project=get_project), retry=RetryPolicy(base_delay=0.0), sleep=lambda s: None)
    assert api.project("p1").project_hash == "p1"


def test_every_error_class_of_the_package_is_in_the_hierarchy() -> None:
    import importlib
    import inspect
    import pkgutil

    import encord_provider

    outside = []
    for module_info in pkgutil.walk_packages(encord_provider.__path__, "encord_provider."):
        if module_info.name.startswith("encord_provider.ui") or module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == module.__name__
                    and not issubclass(value, EncordProviderError)):  # fmt: skip
                outside.append(f"{module.__name__}.{name}")
    assert outside == []
    assert not issubclass(TransientError, PermanentError)


def test_fail_fast_fails_permanent_errors_and_lets_the_rest_retry() -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from encord_provider.ingest.errors import LeaseLostError
    from encord_provider.operators.failures import TriggerFailedError, fail_fast, raise_for_event

    with pytest.raises(AirflowFailException, match="lease"), fail_fast():
        raise LeaseLostError("the lease was taken over")
    with pytest.raises(EncordUnavailableError), fail_fast():
        raise EncordUnavailableError("503")
    with pytest.raises(AirflowFailException, match="refused"), fail_fast():
        raise_for_event({"status": "error", "error": "EncordAccessError: refused", "permanent": True}, "job")
    with pytest.raises(TriggerFailedError, match="timeout"), fail_fast():
        raise_for_event({"status": "timeout"}, "job did not finish (timeout)")


def test_export_listings_go_through_the_gateway_retries() -> None:
    from datetime import UTC, datetime

    from encord_provider.exports.model import ExportFilters
    from encord_provider.exports.source import SdkLabelSource

    answers: list[Any] = [
        sdk.UnknownException("503"),
        [
            NS(
                label_hash="l1",
                data_hash="d1",
                last_edited_at=datetime(2026, 1, 1, tzinfo=UTC),
                is_shadow_data=False,
                duration=None,
                fps=None,
                get_spaces=lambda: [],
            )  # the listing fields the export carries to its fetch (RowListing)
        ],
    ]

    def list_label_rows_v2(**filters: Any) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    project = NS(project_type="manual_qa", list_label_rows_v2=list_label_rows_v2)
    api = EncordApi(NS(), retry=RetryPolicy(base_delay=0.0), sleep=lambda s: None)
    source = SdkLabelSource(project, read=api.read)  # type: ignore[arg-type]
    pages = list(source.list_pages(ExportFilters()))
    assert [[ref.label_hash for ref in page] for page in pages] == [["l1"]] and answers == []

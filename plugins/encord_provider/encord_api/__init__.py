"""The provider's one gateway to Encord: `EncordApi` (operations), its call discipline (`calls`: error
classification and retries) and upload jobs (`jobs`: status parsing and polling). See `gateway`."""

from encord_provider.encord_api.calls import RETRYABLE, EncordCalls, ErrorKind, RetryPolicy, classify
from encord_provider.encord_api.gateway import EncordApi, FolderIndex
from encord_provider.encord_api.jobs import (
    FINISHED_STATUSES,
    JobState,
    PollOutcome,
    UploadJobWatch,
    is_finished,
)

__all__ = ["FINISHED_STATUSES", "RETRYABLE", "EncordApi", "EncordCalls", "ErrorKind", "FolderIndex", "JobState",
           "PollOutcome", "RetryPolicy", "UploadJobWatch", "classify", "is_finished"]  # fmt: skip

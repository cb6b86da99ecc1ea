"""Moved to `encord_provider.encord_api` (the provider's one Encord gateway); kept so imports of the old
path keep working."""

from encord_provider.encord_api import EncordApi, ErrorKind, FolderIndex, JobState, RetryPolicy, classify

__all__ = ["EncordApi", "ErrorKind", "FolderIndex", "JobState", "RetryPolicy", "classify"]

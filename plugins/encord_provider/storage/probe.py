"""Is a bucket there and usable? One cheap request per store, and one reading of backend errors.

`probe(store, prefix)` lists at most one page under `prefix`; `classify(err)` says whether a backend error
means the bucket is missing, the credentials may not use it, or the endpoint could not be reached (each
backend module reads its own SDK's errors; the registry lists them).
"""

from __future__ import annotations

from enum import Enum

from encord_provider.storage.base import ObjectStore


class StoreProblem(Enum):
    MISSING = "does not exist"
    ACCESS = "cannot be used with these credentials"
    UNREACHABLE = "could not be reached"


def classify(err: BaseException) -> StoreProblem | None:
    """What a backend exception says about the bucket; None when it is about something else."""
    from encord_provider.storage import registry

    for backend in registry.backends():
        problem = backend.classify_error(err)
        if problem is not None:
            return problem
    if isinstance(err, ConnectionError | TimeoutError):
        return StoreProblem.UNREACHABLE
    return None


def probe(store: ObjectStore, prefix: str = "") -> None:
    """One listing request under `prefix` (at most a page); raises whatever the backend raises."""
    next(iter(store.list_objects(prefix=prefix)), None)

"""The provider's one error hierarchy, split by what a retry can do about an error.

- `PermanentError`: retrying cannot help (bad configuration, a rejected key, a missing bucket or target,
  a file that cannot be parsed). The message says what to fix.
- `TransientError`: retrying later may succeed (rate limits, 5xx, an unreachable endpoint, a lease held
  by another run, a listing that changed while it was read).

Every error class of the package derives from `EncordProviderError`, most through one of the two. A few
bases (e.g. `storage.errors.StorageError`) stay unclassified because their subclasses differ; an
unclassified error is treated like a transient one (Airflow's task retries apply).

Domain errors also keep the builtin base they had (`ValueError`, `RuntimeError`, ...), so existing
`except ValueError` callers keep working. The domain never imports Airflow: the one place that maps these
errors to Airflow is `encord_provider.operators.failures.fail_fast`.
"""

from __future__ import annotations


class EncordProviderError(Exception):
    """Base of every error raised by encord_provider."""


class PermanentError(EncordProviderError):
    """Retrying cannot help; the Airflow task fails at once (`AirflowFailException`)."""


class TransientError(EncordProviderError):
    """Retrying later may succeed; Airflow's task retries apply."""


def is_permanent(err: BaseException) -> bool:
    return isinstance(err, PermanentError)

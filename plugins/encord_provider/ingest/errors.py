"""Errors of the ingest domain, split by what a retry can do about them.

- `PermanentIngestError`: a retry cannot help (unknown integration, rejected key, missing bucket, a lost
  lease). The message says what to fix. The Airflow glue fails the task at once (`AirflowFailException`).
- `TransientIngestError`: worth retrying (rate limits, 5xx, unreachable endpoint, a lease held by another
  run). Airflow's task retries apply.

They are the ingest branch of the provider's hierarchy (`encord_provider.errors`): permanent ones are
`PermanentError`s, transient ones `TransientError`s. Only `encord_provider.operators.failures.fail_fast`
maps them to Airflow; the domain never imports Airflow.
"""

from __future__ import annotations

from encord_provider.errors import EncordProviderError, PermanentError, TransientError


class IngestError(EncordProviderError):
    """Base of the ingest errors."""


class PermanentIngestError(IngestError, PermanentError):
    """Retrying cannot help; the message names what to fix (connection, bucket and role, integration...)."""


class TransientIngestError(IngestError, TransientError):
    """Retrying later may succeed."""


class EncordTargetError(PermanentIngestError):
    """A configured integration, folder or dataset cannot be found or used."""


class EncordAccessError(PermanentIngestError):
    """Encord rejected the key of the connection, or the key may not use the resource."""


class EncordUnavailableError(TransientIngestError):
    """Encord kept answering 429 / 5xx or could not be reached."""


class AmbiguousWriteError(TransientIngestError):
    """A call the SDK marks non-retryable failed in a way that leaves open whether Encord carried it out
    (5xx, dropped connection, timeout). Never retried blindly: the caller looks for evidence first."""


class StoreAccessError(PermanentIngestError):
    """A bucket is missing, or its connection may not read or write it (names bucket, role, connection)."""


class StoreUnavailableError(TransientIngestError):
    """A bucket's endpoint could not be reached (names bucket, role, connection)."""


class LeaseHeldError(TransientIngestError):
    """Another run of the pipeline holds its lease (names the holder and when the lease expires)."""


class LeaseLostError(PermanentIngestError):
    """This run's lease expired and another run took it over; this run must stop writing."""


class UploadRefusedError(PermanentIngestError):
    """Encord refused an uploaded file (its registration reported a unit error): the file is rejected."""

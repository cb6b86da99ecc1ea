"""Cloud backends of the emulator: one ``CloudBackend`` per integration provider, looked up here."""

from __future__ import annotations

from encord_emulator.clouds.azure import AzureBackend
from encord_emulator.clouds.base import CloudBackend
from encord_emulator.clouds.gcs import GcsBackend
from encord_emulator.clouds.s3 import AwsBackend, S3CompatibleBackend

BACKENDS: dict[str, CloudBackend] = {
    backend.provider: backend
    for backend in (
        AwsBackend(),
        S3CompatibleBackend("s3_compatible", "s3Compatible"),
        S3CompatibleBackend("otc", "openTelekom"),
        GcsBackend(),
        AzureBackend(),
    )
}
PROVIDERS = tuple(BACKENDS)


def backend_for(provider: str) -> CloudBackend:
    backend = BACKENDS.get(provider)
    if backend is None:
        raise ValueError(f"unknown integration provider {provider!r}; known: {PROVIDERS}")
    return backend

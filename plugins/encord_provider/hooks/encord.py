"""EncordHook: the `EncordApi` gateway (and its `EncordUserClient`) of an Airflow connection of type `encord`.

The private key is read from the connection's `private_key` field, or else from the worker's
ENCORD_SSH_KEY / ENCORD_SSH_KEY_FILE environment variables. It is never logged.

The client is built on first use (never at DAG-parse time) and once per process for a given domain and
key: every hook of a task (and every trigger of a triggerer) with the same credentials shares it. The SDK
opens a new HTTP session per request, so sharing a client across threads is safe.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from encord_provider.errors import PermanentError
from encord_provider.get_provider_info import ENCORD_PUBLIC_DOMAIN

if TYPE_CHECKING:
    from encord.user_client import EncordUserClient

    from encord_provider.encord_api import EncordApi

_CLIENTS: dict[tuple[str, str], EncordUserClient] = {}  # (domain, sha256 of the key) -> client
_CLIENTS_LOCK = threading.Lock()


class EncordKeyMissingError(PermanentError, ValueError):
    """The connection has no private key and the environment provides none."""


class EncordKeyInvalidError(PermanentError, ValueError):
    """The private key cannot be read or loaded; the message names the connection and where the key came
    from, never the key."""


_KEY_FORMAT_HINT = "expected an OpenSSH Ed25519 private key ('-----BEGIN OPENSSH PRIVATE KEY-----')"


def _safe_reason(err: BaseException, key: str) -> str:
    """The loader's message with the key cut out (the SDK quotes the whole key in some of them)."""
    text = str(err).replace(key, "<key>").replace(key.strip(), "<key>").strip()
    if not text or any(len(line) > 8 and line in text for line in key.splitlines()):
        return type(err).__name__
    return text


def _normalise_key(key: str) -> str:
    """Accept keys pasted with literal `\\n` sequences (env vars, JSON) as well as real newlines."""
    key = key.strip()
    if "\\n" in key and "\n" not in key:
        key = key.replace("\\n", "\n")
    return key + "\n"


class EncordHook(BaseHook):
    """Interact with Encord through the official `encord` SDK, via the `EncordApi` gateway (`hook.api`)."""

    conn_name_attr = "encord_conn_id"
    default_conn_name = "encord_default"
    conn_type = "encord"
    hook_name = "Encord"

    def __init__(self, encord_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encord_conn_id = encord_conn_id

    def _extra(self) -> dict[str, Any]:
        conn = self.get_connection(self.encord_conn_id)
        extra = dict(conn.extra_dejson)
        if conn.host and not extra.get("domain"):
            extra["domain"] = conn.host
        return extra

    @property
    def domain(self) -> str:
        extra = self._extra()
        domain = extra.get("domain") or extra.get("extra__encord__domain") or ENCORD_PUBLIC_DOMAIN
        return str(domain).rstrip("/")

    def private_key(self) -> str:
        """The key text, for code that must hand it to another library (e.g. encord-agents' env vars)."""
        return self._key_and_source()[0]

    def _key_and_source(self) -> tuple[str, str]:
        extra = self._extra()
        key = extra.get("private_key") or extra.get("extra__encord__private_key")
        source = "its private_key field"
        if not key and os.environ.get("ENCORD_SSH_KEY"):
            key, source = os.environ["ENCORD_SSH_KEY"], "ENCORD_SSH_KEY"
        if not key and os.environ.get("ENCORD_SSH_KEY_FILE"):
            path = Path(os.environ["ENCORD_SSH_KEY_FILE"]).expanduser()
            source = f"ENCORD_SSH_KEY_FILE ({path})"
            try:
                key = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as err:
                raise EncordKeyInvalidError(
                    f"Connection {self.encord_conn_id!r}: cannot read the private key file from {source}: "
                    f"{getattr(err, 'strerror', None) or type(err).__name__}"
                ) from None
        if not key:
            raise EncordKeyMissingError(
                f"Connection {self.encord_conn_id!r} has no private_key and neither ENCORD_SSH_KEY "
                "nor ENCORD_SSH_KEY_FILE is set"
            )
        return _normalise_key(str(key)), source

    @cached_property
    def client(self) -> EncordUserClient:
        """The SDK client, created on first use and shared by the hooks of the process with the same key."""
        key, source = self._key_and_source()
        cache_key = (self.domain, hashlib.sha256(key.encode()).hexdigest())
        with _CLIENTS_LOCK:
            if cache_key not in _CLIENTS:
                _CLIENTS[cache_key] = self._create_client(key, source)
            return _CLIENTS[cache_key]

    @cached_property
    def api(self) -> EncordApi:
        """The gateway every operator and trigger uses (retries, error classification, upload jobs)."""
        from encord_provider.encord_api import EncordApi

        return EncordApi.from_hook(self)

    def _create_client(self, key: str, source: str) -> EncordUserClient:
        from encord.user_client import EncordUserClient

        try:
            return EncordUserClient.create_with_ssh_private_key(key, domain=self.domain)
        except (ValueError, TypeError) as err:  # cryptography's parse errors, binascii padding errors
            raise EncordKeyInvalidError(
                f"Connection {self.encord_conn_id!r}: the private key from {source} cannot be loaded "
                f"({_safe_reason(err, key)}); {_KEY_FORMAT_HINT}"
            ) from None

    def get_conn(self) -> EncordUserClient:
        return self.client

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate against the domain with a cheap signed call."""
        try:
            self.client.get_cloud_integrations()  # one try: the Test button should answer at once
        except (EncordKeyMissingError, EncordKeyInvalidError) as err:
            return False, str(err)
        except Exception as err:  # the SDK raises many types; report the class, never the key
            return False, f"{type(err).__name__}: {err}"
        return True, f"Authenticated against {self.domain}"

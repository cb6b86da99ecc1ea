"""Verification of the SDK's two request-signing schemes (api-surface §2).

Users are documents of kind ``user`` keyed by the 64-hex raw Ed25519 public key.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_ssh_public_key
from fastapi import Request

from encord_emulator.core.errors import EmulatorError, unauthenticated
from encord_emulator.core.store import Store

USER_KIND = "user"
MAX_CLOCK_SKEW_SECONDS = 300
_SIG_INPUT = re.compile(
    r'^encord-sig=(\("@method" "@request-target" "content-digest"\);created=(\d+);keyid="([0-9a-f]{64})";alg="ed25519")$'
)
_SIG_VALUE = re.compile(r"^encord-sig=:([A-Za-z0-9+/=]+):$")


def public_key_hex(openssh_public_key: str) -> str:
    """Raw 32-byte Ed25519 key as hex, from an ``ssh-ed25519 AAAA...`` line."""
    key = load_ssh_public_key(openssh_public_key.strip().encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("only ssh-ed25519 public keys are supported")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def content_digest(body: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def verify_legacy(headers: Mapping[str, str], body: bytes, store: Store) -> dict[str, Any]:
    """``Authorization: <pubkey-hex>:<sig-hex>`` where sig signs sha256(body)."""
    value = headers.get("authorization", "")
    pub_hex, _, sig_hex = value.partition(":")
    if not pub_hex or not sig_hex:
        raise unauthenticated("missing or malformed Authorization header")
    user = _user_for_key(pub_hex, store, legacy=True)
    _verify(pub_hex, _unhex(sig_hex), hashlib.sha256(body).digest())
    return user


def verify_v2(
    method: str, request_target: str, headers: Mapping[str, str], body: bytes, store: Store
) -> dict[str, Any]:
    """RFC-9421-style ``Signature-Input`` / ``Signature`` / ``Content-Digest`` check."""
    sig_input = _SIG_INPUT.match(headers.get("signature-input", ""))
    sig_value = _SIG_VALUE.match(headers.get("signature", ""))
    if sig_input is None or sig_value is None:
        raise unauthenticated("missing or malformed Signature / Signature-Input headers")
    params, created, pub_hex = sig_input.group(1), int(sig_input.group(2)), sig_input.group(3)
    if abs(time.time() - created) > MAX_CLOCK_SKEW_SECONDS:
        raise unauthenticated("signature 'created' is outside the allowed clock skew")
    digest = content_digest(body)
    if headers.get("content-digest", "") != digest:
        raise unauthenticated("Content-Digest does not match the request body")
    user = _user_for_key(pub_hex, store, legacy=False)
    base = "\n".join(
        [
            f'"@method": {method.upper()}',
            f'"@request-target": {request_target}',
            f'"content-digest": {digest}',
            f'"@signature-params": {params}',
        ]
    )
    _verify(pub_hex, base64.b64decode(sig_value.group(1)), base.encode())
    return user


def _user_for_key(pub_hex: str, store: Store, legacy: bool) -> dict[str, Any]:
    user = store.get(USER_KIND, pub_hex.lower())
    if user is None:
        if legacy:
            raise EmulatorError(401, "SSH_KEY_NOT_FOUND_ERROR", "no user is registered with this public key")
        raise unauthenticated("no user is registered with this public key")
    return user


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise unauthenticated("signature is not hex") from None


def _verify(pub_hex: str, signature: bytes, message: bytes) -> None:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub_hex)).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise unauthenticated("request signature does not verify") from None


_LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


def require_loopback(request: Request) -> None:
    """Admin routes (here and in other modules) answer callers on this machine only."""
    host = request.client.host if request.client else ""
    if host not in _LOOPBACK:
        raise EmulatorError(403, "AUTHORISATION_ERROR", "the admin API only answers loopback callers")

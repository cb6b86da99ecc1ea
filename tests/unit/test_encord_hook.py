"""EncordHook reads its key from the connection or the environment, lazily, and never logs it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from encord_provider.hooks.encord import EncordHook, EncordKeyInvalidError, EncordKeyMissingError


def _openssh_private_key() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()


def _rsa_private_key() -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()


def _set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict[str, str], host: str = "") -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "encord", "host": host, "extra": extra})
    )


def test_domain_defaults_to_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(monkeypatch, "enc_a", {"private_key": "k"})
    assert EncordHook("enc_a").domain == "https://api.encord.com"


def test_domain_from_field_or_host(monkeypatch: pytest.MonkeyPatch) -> None:
    _set_conn(monkeypatch, "enc_us", {"domain": "https://api.us.encord.com/"})
    assert EncordHook("enc_us").domain == "https://api.us.encord.com"
    _set_conn(monkeypatch, "enc_host", {}, host="https://encord.private.example")
    assert EncordHook("enc_host").domain == "https://encord.private.example"


def test_client_built_from_inline_key_with_escaped_newlines(monkeypatch: pytest.MonkeyPatch) -> None:
    escaped = _openssh_private_key().replace("\n", "\\n")
    _set_conn(monkeypatch, "enc_inline", {"private_key": escaped, "domain": "http://127.0.0.1:9"})
    hook = EncordHook("enc_inline")
    client = hook.client  # signing setup only: no request is sent here
    assert client is hook.get_conn()


def test_key_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _set_conn(monkeypatch, "enc_env", {"domain": "http://127.0.0.1:9"})
    monkeypatch.setenv("ENCORD_SSH_KEY", _openssh_private_key())
    assert EncordHook("enc_env").client is not None
    monkeypatch.delenv("ENCORD_SSH_KEY")
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(_openssh_private_key())
    monkeypatch.setenv("ENCORD_SSH_KEY_FILE", str(key_file))
    assert EncordHook("enc_env").client is not None


def test_missing_key_names_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENCORD_SSH_KEY", raising=False)
    monkeypatch.delenv("ENCORD_SSH_KEY_FILE", raising=False)
    _set_conn(monkeypatch, "enc_nokey", {})
    with pytest.raises(EncordKeyMissingError, match="enc_nokey"):
        _ = EncordHook("enc_nokey").client
    ok, message = EncordHook("enc_nokey").test_connection()
    assert not ok and "enc_nokey" in message


def test_failed_connection_test_never_reveals_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    key = _openssh_private_key()
    _set_conn(monkeypatch, "enc_down", {"private_key": key, "domain": "http://127.0.0.1:9"})
    with caplog.at_level(logging.DEBUG):
        ok, message = EncordHook("enc_down").test_connection()
    assert not ok
    secret_line = key.splitlines()[1]
    assert secret_line not in message
    assert secret_line not in caplog.text


def test_connection_test_against_emulator(encord_emulator) -> None:  # type: ignore[no-untyped-def]
    ok, message = EncordHook("encord_test").test_connection()
    assert ok, message
    assert encord_emulator.url.rstrip("/") in message


def test_connection_test_with_unregistered_key_fails(
    encord_emulator, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _set_conn(
        monkeypatch, "enc_stranger", {"private_key": _openssh_private_key(), "domain": encord_emulator.url}
    )
    ok, message = EncordHook("enc_stranger").test_connection()
    assert not ok
    assert "PRIVATE KEY" not in message


@pytest.mark.parametrize(
    "bad_key",
    [
        "not a key at all",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC7\n-----END OPENSSH PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        _openssh_private_key()[:-80],  # truncated when pasted
        _rsa_private_key(),  # the SDK's own message quotes the whole key
    ],
)
def test_malformed_key_names_the_connection_not_the_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, bad_key: str
) -> None:
    monkeypatch.delenv("ENCORD_SSH_KEY", raising=False)
    _set_conn(monkeypatch, "enc_bad", {"private_key": bad_key, "domain": "http://127.0.0.1:9"})
    with caplog.at_level(logging.DEBUG), pytest.raises(EncordKeyInvalidError) as info:
        _ = EncordHook("enc_bad").client
    message = str(info.value)
    assert "'enc_bad'" in message and "private_key field" in message and "OpenSSH Ed25519" in message
    for line in bad_key.splitlines():
        if len(line) > 8 and "-----" not in line:
            assert line not in message and line not in caplog.text
    ok, tested = EncordHook("enc_bad").test_connection()
    assert not ok and tested == message
    if bad_key.startswith("-----BEGIN OPENSSH") and len(bad_key) > 1000:
        assert "[<key>] is not an Ed25519 private key" in message


def test_key_file_problems_name_connection_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ENCORD_SSH_KEY", raising=False)
    _set_conn(monkeypatch, "enc_file", {"domain": "http://127.0.0.1:9"})
    monkeypatch.setenv("ENCORD_SSH_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(EncordKeyInvalidError, match=r"'enc_file': cannot read .*absent.*No such file"):
        _ = EncordHook("enc_file").client
    (tmp_path / "garbled").write_text("garbled key")
    monkeypatch.setenv("ENCORD_SSH_KEY_FILE", str(tmp_path / "garbled"))
    with pytest.raises(EncordKeyInvalidError, match=r"'enc_file': the private key from ENCORD_SSH_KEY_FILE"):
        _ = EncordHook("enc_file").client

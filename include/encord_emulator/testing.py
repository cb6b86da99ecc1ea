"""Start an emulator subprocess with a fresh Ed25519 user (tests, demo, benchmarks).

with EmulatorProcess() as emulator:
    client = emulator.client()
    emulator.admin_post("/admin/seed", {"integrations": [...]})
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DEFAULT_USER_EMAIL = "pipeline@example.com"


def generate_keypair() -> tuple[str, str]:
    """(OpenSSH private key text, ``ssh-ed25519 AAAA...`` public key line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    return private, public


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatorProcess:
    """An ``encord-emulator serve`` child process on 127.0.0.1 with its own data dir and user key."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        seed: dict[str, Any] | None = None,
        port: int | None = None,
        user_email: str = DEFAULT_USER_EMAIL,
        log_path: str | Path | None = None,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="encord-emulator-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.user_email = user_email
        self.private_key, self.public_key = generate_keypair()
        self.seed_path = self.data_dir / "seed.yaml"
        base_seed: dict[str, Any] = {"users": [{"email": user_email, "public_key": self.public_key}]}
        for section, value in (seed or {}).items():
            base_seed[section] = base_seed.get(section, []) + value if section == "users" else value
        self.seed_path.write_text(yaml.safe_dump(base_seed), encoding="utf-8")
        self.log_path = Path(log_path) if log_path else self.data_dir / "emulator.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 30.0) -> EmulatorProcess:
        command = [
            sys.executable, "-m", "encord_emulator", "serve",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--data-dir", str(self.data_dir), "--seed", str(self.seed_path),
        ]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout)

    def restart(self) -> None:
        """Stop and start on the same port and data dir (state must survive)."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def admin_post(self, path: str, json_body: Any) -> Any:
        return self._admin("POST", path, json_body)

    def admin_get(self, path: str) -> Any:
        return self._admin("GET", path, None)

    def client(self, **kwargs: Any) -> Any:
        """An ``EncordUserClient`` signed with this emulator's user key (kwargs go to the SDK)."""
        from encord.user_client import EncordUserClient

        return EncordUserClient.create_with_ssh_private_key(self.private_key, domain=self.url, **kwargs)

    def airflow_connection(self) -> str:
        """JSON for ``AIRFLOW_CONN_<ID>`` (conn_type encord, extra private_key + domain)."""
        return json.dumps(
            {"conn_type": "encord", "extra": {"private_key": self.private_key, "domain": self.url}}
        )

    def _admin(self, method: str, path: str, json_body: Any) -> Any:
        data = None if json_body is None else json.dumps(json_body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"{method} {path} -> {exc.code}: {exc.read().decode(errors='replace')}"
            ) from exc

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self._proc.returncode}; log: {self._log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"emulator not ready after {timeout}s; log: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "<no log>"

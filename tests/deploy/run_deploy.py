"""`make test-deploy`: docker-compose.yaml's deployment as local processes, and one ingest run through it.

PostgreSQL 15 and Redis come from Debian packages (installed with apt-get when missing). The api-server,
scheduler, dag-processor, triggerer and Celery worker get exactly the environment docker-compose.yaml gives
their containers (read from the file with a YAML parser, `${VAR:-default}` filled from a generated .env),
with only what must differ on a host substituted: the hostnames postgres, redis and airflow-apiserver become
127.0.0.1 and the container paths /opt/airflow/... become the repository's folders (logs and config: a
temporary folder). Everything runs in a private network namespace (`unshare -n`, loopback only), so the
compose ports (5432, 6379, 8080, 8793, 8794, 8974) are used as they are and nothing is reachable from outside.
moto and the Encord emulator (with the demo seed and media) stand in for S3 and Encord. The ingest DAG is
unpaused (which starts today's nightly run over the demo media), three new objects arrive, and a run
triggered through the REST API must succeed and link exactly those. Exit code 0 when it did.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
COMPONENTS = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
HOSTS = ("postgres", "redis", "airflow-apiserver")
DAG_ID = "encord_ingest__demo_s3"
DEMO_OBJECTS, NEW_OBJECTS = 16, 3
INNER = "ENCORD_DEPLOY_TEST_INSIDE_NETNS"
CONTAINER_HOME = "/opt/airflow"
started = time.monotonic()


def say(message: str) -> None:
    print(f"[deploy {time.monotonic() - started:6.1f}s] {message}", flush=True)


# -- the compose file ---------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `${VAR:?message}`."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        current = variables.get(name)
        if op in (":-", ":?") and not current or op in ("-", "?") and current is None:
            if op.endswith("?"):
                raise SystemExit(f"docker-compose.yaml needs {name}: {arg}")
            return arg
        return current or ""

    return _VARIABLE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def service_environment(compose: dict[str, Any], service: str, dotenv: dict[str, str]) -> dict[str, str]:
    """A container's environment: the env_file (.env) first, then `environment:`, interpolated."""
    spec = compose["services"][service]
    env = dict(dotenv) if spec.get("env_file") else {}
    env.update({k: interpolate(str(v), dotenv) for k, v in (spec.get("environment") or {}).items()})
    return env


def container_home(compose: dict[str, Any], service: str, dotenv: dict[str, str], scratch: Path) -> Path:
    """A host folder laid out like the image's /opt/airflow (its AIRFLOW_HOME): one symlink per bind mount
    of the service (dags, include, plugins -> the repository; logs, config -> folders in `scratch`)."""
    home = scratch / "opt-airflow"
    home.mkdir(exist_ok=True)
    for volume in compose["services"][service].get("volumes") or []:
        source, target = interpolate(volume, dotenv).rsplit(":", 1)
        relative = Path(target).relative_to(CONTAINER_HOME)
        if relative.name in ("logs", "config"):
            host = scratch / f"airflow-{relative.name}"
        else:
            host = (ROOT / source).resolve()
        host.mkdir(parents=True, exist_ok=True)
        link = home / relative
        if not link.is_symlink():
            link.symlink_to(host, target_is_directory=True)
    return home


def on_this_host(env: dict[str, str], home: Path) -> dict[str, str]:
    """The substitutions a host needs: compose hostnames -> 127.0.0.1, /opt/airflow -> `home`."""
    host_env = {}
    for key, value in env.items():
        for name in HOSTS:
            value = re.sub(rf"(?<=[@/]){re.escape(name)}(?=[:/]|$)", "127.0.0.1", value)
        host_env[key] = value.replace(CONTAINER_HOME, str(home))
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        **host_env,
        "AIRFLOW_HOME": str(home),  # the image sets AIRFLOW_HOME=/opt/airflow
    }


def redact(key: str, value: str) -> str:
    """For printing: secrets by name, and the password inside a URL."""
    if any(word in key for word in ("SECRET", "FERNET", "PASSWORD", "AIRFLOW_CONN_")):
        return "***"
    return re.sub(r"(://[^:/@]*:)[^@]+@", r"\1***@", value)


# -- services -------------------------------------------------------------------------------------------


def ensure_packages() -> None:
    missing = [pkg for pkg, path in (("postgresql-15", PG_BIN / "postgres"), ("redis-server", Path("/usr/bin/redis-server")))
               if not path.exists()]  # fmt: skip
    if missing:
        say(f"apt-get install {' '.join(missing)}")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)  # fmt: skip


class Processes:
    """Everything this test starts, stopped by PID in reverse order."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, command: list[str], env: dict[str, str] | None = None, user: str | None = None
    ) -> subprocess.Popen[bytes]:
        if user:
            command = ["runuser", "-u", user, "--", *command]
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, proc))
        return proc

    def stop_all(self) -> None:
        import psutil

        for name, proc in reversed(self.started):
            if proc.poll() is not None:
                continue
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            for member in family:
                try:
                    member.send_signal(signal.SIGTERM)
                except psutil.NoSuchProcess:
                    pass
            _, alive = psutil.wait_procs(family, timeout=20)
            for member in alive:
                member.kill()
            say(f"stopped {name} (pid {proc.pid})")


def start_postgres(procs: Processes, scratch: Path, password: str) -> None:
    data, sockets = scratch / "pgdata", scratch / "pgsock"
    for folder in (data, sockets):
        folder.mkdir()
        shutil.chown(folder, "postgres")
    pwfile = sockets / "pwfile"
    pwfile.write_text(password)
    shutil.chown(pwfile, "postgres")
    subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data), "-U", "airflow",
                    "--pwfile", str(pwfile), "-A", "scram-sha-256"], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    pwfile.unlink()
    procs.start("postgres", [str(PG_BIN / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", "5432",
                             "-k", str(sockets)], user="postgres")  # fmt: skip
    for _ in range(100):
        ready = subprocess.run(
            [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", "5432"], capture_output=True
        )
        if ready.returncode == 0:
            break
        time.sleep(0.2)
    env = {**os.environ, "PGPASSWORD": password}
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "airflow", "-d", "postgres", "-qc", "CREATE DATABASE airflow"],
                   check=True, env=env)  # fmt: skip
    version = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "airflow", "-d", "airflow", "-tAc", "SHOW server_version"],
                             check=True, env=env, capture_output=True, text=True).stdout.strip()  # fmt: skip
    say(f"PostgreSQL {version} on 127.0.0.1:5432")


def start_redis(procs: Processes) -> None:
    procs.start(
        "redis",
        [
            "/usr/bin/redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    )
    for _ in range(100):
        if (
            subprocess.run(
                ["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True, text=True
            ).stdout.strip()
            == "PONG"
        ):
            break
        time.sleep(0.1)
    say("Redis on 127.0.0.1:6379")


# -- Airflow --------------------------------------------------------------------------------------------


def api(url: str, token: str | None, path: str, body: Any = None, method: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data, headers, method=method or ("POST" if data else "GET"))
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_runs(
    url: str, token: str, deadline: float, done: Any, run_id: str | None = None
) -> list[dict[str, Any]]:
    """Poll the DAG's runs (or one run) until `done(runs)`; [] when the deadline passes first."""
    while time.monotonic() < deadline:
        if run_id:
            runs = [api(url, token, f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")]
        else:
            runs = api(url, token, f"/api/v2/dags/{DAG_ID}/dagRuns")["dag_runs"]
        if runs and done(runs):
            return list(runs)
        time.sleep(2)
    if run_id:
        raise SystemExit(f"run {run_id} did not finish in time")
    return []


def is_finished(runs: list[dict[str, Any]]) -> bool:
    return runs[0]["state"] in ("success", "failed")


def add_new_objects(moto_url: str, count: int) -> int:
    import boto3

    from demo.media import image_bytes

    s3 = boto3.client("s3", endpoint_url=moto_url)
    for index in range(count):
        body = image_bytes(64, 48, (40 * index % 256, 90, 160))
        s3.put_object(Bucket="demo-media", Key=f"incoming/new/after-nightly-{index}.jpg", Body=body)
    return count


def read_report(moto_url: str, uri: str) -> dict[str, Any]:
    import boto3

    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body = boto3.client("s3", endpoint_url=moto_url).get_object(Bucket=bucket, Key=key)["Body"].read()
    return dict(json.loads(body))


def wait_healthy(url: str, procs: Processes, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.started:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode}; log: {procs.logs / (name + '.log')}")
        try:
            health = api(url, None, "/api/v2/monitor/health")
            if all((health.get(part) or {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")):  # fmt: skip
                return
        except OSError:
            pass
        time.sleep(1.0)
    raise SystemExit(f"Airflow not healthy after {timeout:.0f}s")


def run_once(scratch: Path) -> int:
    from encord_emulator.testing import EmulatorProcess

    from demo.run_demo import fill_bucket
    from tests.services import MotoServer

    procs = Processes(scratch / "logs")
    (scratch / "logs").mkdir()
    moto = MotoServer()
    emulator: EmulatorProcess | None = None
    try:
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        moto.start()
        seed = {"integrations": [{"title": "demo-aws", "provider": "aws", "endpoint_url": moto.url}]}
        emulator = EmulatorProcess(data_dir=scratch / "emulator", seed=seed).start()
        say(
            f"moto at {moto.url}, Encord emulator at {emulator.url}; {fill_bucket(moto.url)} demo objects uploaded"
        )
        password = secrets.token_urlsafe(12)
        dotenv = {  # what a user's .env holds (docker-compose.yaml reads it)
            "AIRFLOW_UID": str(os.getuid()),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__CORE__FERNET_KEY": __import__("cryptography.fernet").fernet.Fernet.generate_key().decode(),
            "POSTGRES_PASSWORD": secrets.token_hex(12),
            "AIRFLOW_ADMIN_USERS": "admin:admin",
            "AIRFLOW_CONN_AWS_DEMO": json.dumps({"conn_type": "aws", "login": "testing", "password": "testing",
                                                 "extra": {"region_name": "us-east-1", "endpoint_url": moto.url}}),
            "AIRFLOW_CONN_ENCORD_DEMO": emulator.airflow_connection(),
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        }  # fmt: skip
        start_postgres(procs, scratch, dotenv["POSTGRES_PASSWORD"])
        start_redis(procs)
        compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
        envs = {}
        for service in ("airflow-init", *COMPONENTS):
            home = container_home(compose, service, dotenv, scratch)
            envs[service] = on_this_host(service_environment(compose, service, dotenv), home)
        passwords = scratch / "airflow-config" / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({"admin": password}))
        shared = {
            k: envs[COMPONENTS[0]].get(k)
            for k in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY")
        }
        assert all(v and all(envs[s].get(k) == v for s in COMPONENTS) for k, v in shared.items()), (
            "secrets differ"
        )
        say("environment from docker-compose.yaml; the worker's: " + ", ".join(
            f"{k}={redact(k, v)}" for k, v in sorted(envs["airflow-worker"].items())
            if k.startswith(("AIRFLOW__", "PYTHONPATH", "ENCORD"))))  # fmt: skip
        init = compose["services"]["airflow-init"]["environment"]
        assert init.get("_AIRFLOW_DB_MIGRATE") == "true"  # what the image's entrypoint does for airflow-init
        subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=envs["airflow-init"], check=True,
                       stdout=open(scratch / "logs" / "airflow-init.log", "ab"), stderr=subprocess.STDOUT)  # fmt: skip
        say("airflow db migrate (airflow-init) done")
        for service in COMPONENTS:
            command = str(compose["services"][service]["command"]).split()
            proc = procs.start(service, [str(BIN / "airflow"), *command], env=envs[service])
            say(f"started {service}: airflow {' '.join(command)} (pid {proc.pid})")
        url = "http://127.0.0.1:8080"
        wait_healthy(url, procs)
        say("api-server, scheduler, dag-processor and triggerer healthy")
        token = api(url, None, "/auth/token", {"username": "admin", "password": password})["access_token"]
        deadline = time.monotonic() + 180
        while DAG_ID not in {d["dag_id"] for d in api(url, token, "/api/v2/dags")["dags"]}:
            if time.monotonic() > deadline:
                raise SystemExit(f"{DAG_ID} was not parsed within 180s; see {procs.logs}")
            time.sleep(2)
        say(f"{DAG_ID} parsed by the dag-processor")
        errors = api(url, token, "/api/v2/importErrors")
        assert errors["total_entries"] == 0, errors
        # Compose creates DAGs paused; unpausing also starts today's nightly run (catchup=False), which
        # registers the demo media. Then new objects arrive, and our REST-triggered run must register them.
        api(url, token, f"/api/v2/dags/{DAG_ID}", {"is_paused": False}, method="PATCH")
        say(f"unpaused {DAG_ID}")
        started_by_unpause = wait_runs(url, token, time.monotonic() + 60, lambda runs: bool(runs))
        for earlier in started_by_unpause:
            (finished,) = wait_runs(url, token, time.monotonic() + 600, is_finished, earlier["dag_run_id"])
            say(f"nightly run {finished['dag_run_id']}: {finished['state']}")
        added = add_new_objects(moto.url, NEW_OBJECTS)
        say(f"{added} new objects in s3://demo-media/incoming/new/")
        run = api(url, token, f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {}})
        run_id = run["dag_run_id"]
        say(f"triggered {DAG_ID} through the REST API: {run_id}")
        (run,) = wait_runs(url, token, time.monotonic() + 600, is_finished, run_id)
        tis = api(url, token, f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=100")[
            "task_instances"
        ]
        for ti in sorted(tis, key=lambda t: (t["start_date"] or "", t["map_index"])):
            say(f"  {ti['task_id']}[{ti['map_index']}] {ti['state']} try {ti['try_number']} on {ti['hostname']} "
                f"(queue {ti.get('queue')})")  # fmt: skip
        summary = api(
            url,
            token,
            f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/finalize/xcomEntries/return_value",
        )
        say(f"finalize returned: {summary.get('value')}")
        report = read_report(moto.url, summary["value"]["report_uri"])
        say(f"report.json: this run {report['states']}, ledger totals {report['ledger_totals']}")
        runs = api(url, token, f"/api/v2/dags/{DAG_ID}/dagRuns")["dag_runs"]
        say("all runs: " + ", ".join(f"{r['dag_run_id']} {r['state']}" for r in runs))
        say(f"run {run_id}: {run['state']}")
        linked_now, linked_total = report["states"].get("linked", 0), report["ledger_totals"].get("linked", 0)
        ok = (
            run["state"] == "success"
            and linked_now == NEW_OBJECTS
            and linked_total == DEMO_OBJECTS + NEW_OBJECTS
        )
        say(
            f"{'PASS' if ok else 'FAIL'}: our run linked {linked_now} of {NEW_OBJECTS} new objects; ledger {linked_total}"
        )
        return 0 if ok else 1
    finally:
        procs.stop_all()
        if emulator is not None:
            emulator.stop()
        moto.stop()
        say(f"logs kept in {scratch / 'logs'}")


def main() -> None:
    if os.environ.get(INNER) != "1":
        ensure_packages()  # before the namespace: apt needs the network
        if os.geteuid() != 0 or not shutil.which("unshare"):
            raise SystemExit("make test-deploy runs as root with unshare(1) (a private network namespace)")
        os.environ[INNER] = "1"
        command = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"',
                   sys.executable, "-m", "tests.deploy.run_deploy"]  # fmt: skip
        raise SystemExit(subprocess.run(command, cwd=ROOT).returncode)
    scratch = Path(tempfile.mkdtemp(prefix="encord-deploy-"))
    os.chmod(scratch, 0o755)
    raise SystemExit(run_once(scratch))


if __name__ == "__main__":
    main()

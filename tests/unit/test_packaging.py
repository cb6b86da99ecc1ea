"""Packaging: pyproject declares what the installed package imports, the pinned requirement files agree
with it, and the package does not depend on the repository layout."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "encord_provider"
EMULATOR = ROOT / "include" / "encord_emulator"
OWN = {"encord_provider", "encord_emulator", "__future__"}
EXTRAS = {"gcs", "azure", "export", "agents", "emulator"}
DEV_TOOLS = {"pytest", "moto", "ruff", "mypy", "hypothesis", "playwright", "pytest-timeout"}


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _imports(root: Path) -> dict[str, set[str]]:
    """Third-party module names imported anywhere under `root` (most specific first) -> importing files."""
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in OWN and top not in sys.stdlib_module_names:
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


@cache
def _top_level_owners() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@cache
def _files_of(distribution: str) -> tuple[Path, frozenset[str]]:
    dist = importlib.metadata.distribution(distribution)
    return Path(str(dist.locate_file(""))), frozenset(str(file) for file in dist.files or ())


def _distribution_of(module: str) -> str | None:
    """The distribution installing `module`; namespace packages (google, azure, airflow) by its file."""
    candidates = _top_level_owners().get(module.partition(".")[0], [])
    if len(set(candidates)) == 1:
        return _name(candidates[0])
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # `from pkg import function`: not a module
        return None
    if spec is None or not spec.origin:
        return None
    for candidate in dict.fromkeys(candidates):
        base, files = _files_of(candidate)
        try:
            relative = Path(spec.origin).relative_to(base)
        except ValueError:
            continue
        if relative.as_posix() in files:
            return _name(candidate)
    return None


def _distributions(root: Path) -> dict[str, set[str]]:
    """Distribution -> files of `root` importing from it (each import resolved to its most specific module)."""
    by_module = _imports(root)
    result: dict[str, set[str]] = {}
    resolved: set[str] = set()
    for module in sorted(by_module, key=lambda m: -m.count(".")):
        if any(done.startswith(module + ".") for done in resolved):
            continue  # `from google.cloud import storage`: google.cloud.storage already answered
        owner = _distribution_of(module)
        if owner is not None:
            resolved.add(module)
            result.setdefault(owner, set()).update(by_module[module])
    return result


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared(*extras: str) -> dict[str, Requirement]:
    project = _pyproject()
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    requirements = (Requirement(line) for line in lines)
    return {_name(r.name): r for r in requirements if _name(r.name) != _name(project["name"])}


def _covered(distribution: str, declared: dict[str, Requirement]) -> bool:
    """Declared, or an unconditional part of a declared meta-package (apache-airflow -> apache-airflow-core)."""
    if distribution in declared:
        return True
    for name in declared:
        if distribution.startswith(name + "-"):
            parts = importlib.metadata.requires(name) or []
            if any(_name(Requirement(p).name) == distribution and not Requirement(p).marker for p in parts):
                return True
    return False


def _pins(file: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / file).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            pins[_name(Requirement(name).name)] = version.strip()
    return pins


def test_every_runtime_import_of_the_provider_is_declared() -> None:
    declared = _declared(*EXTRAS)
    used = _distributions(PACKAGE)
    assert {"apache-airflow-task-sdk", "encord", "pydantic", "boto3", "google-cloud-storage"} <= set(used)
    missing = {dist: sorted(files) for dist, files in used.items() if not _covered(dist, declared)}
    assert not missing, f"imported by the package but not in pyproject.toml: {missing}"


def test_every_import_of_the_emulator_is_in_the_base_or_its_extra() -> None:
    declared = _declared("emulator", "gcs", "azure")  # its cloud module reads buckets like the provider does
    used = _distributions(EMULATOR)
    assert {"fastapi", "uvicorn"} <= set(used) and {"fastapi", "uvicorn"} <= set(_declared("emulator"))
    missing = {dist: sorted(files) for dist, files in used.items() if not _covered(dist, declared)}
    assert not missing, f"imported by the emulator but not declared: {missing}"


def test_extras_are_the_documented_ones() -> None:
    assert set(_pyproject()["optional-dependencies"]) == EXTRAS | {"all"}


def test_runtime_pins_satisfy_pyproject() -> None:
    pins = _pins("requirements.txt")
    for name, requirement in _declared(*EXTRAS).items():
        assert name in pins, f"{name} is declared in pyproject.toml but not pinned in requirements.txt"
        assert Version(pins[name]) in requirement.specifier, f"{name}=={pins[name]} breaks {requirement}"


def test_runtime_and_dev_requirements_are_separate() -> None:
    runtime, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    assert not DEV_TOOLS & set(runtime), f"test tools pinned as runtime: {sorted(DEV_TOOLS & set(runtime))}"
    assert DEV_TOOLS <= set(dev)
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    clashes = {
        name: (runtime[name], dev[name]) for name in set(runtime) & set(dev) if runtime[name] != dev[name]
    }
    assert not clashes
    top_level = _pins("requirements.in")
    assert all(runtime.get(name) == version for name, version in top_level.items()), "requirements.in != .txt"


def test_the_package_never_locates_itself_on_disk() -> None:
    """No `__file__` (and so no `Path(__file__).parents[n]` into the repository): data the package ships
    is read with importlib.resources, files of the project come from configuration."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Name) and node.id == "__file__":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders
    shipped = {p.name for p in PACKAGE.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")}
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert shipped <= set(package_data["encord_provider"]), "a data file the wheel would not ship"


_OUTSIDE = """
import json, os, sys
import encord_provider
from importlib.resources import files
from encord_provider.config.loader import default_pipelines_path, load_pipelines
from encord_provider.storage.factory import store_from_url
store, prefix = store_from_url("file://" + os.environ["DATA_DIR"] + "/")
store.write_bytes("x.txt", b"ok")
print(json.dumps({
    "package": encord_provider.__file__,
    "typed": files("encord_provider").joinpath("py.typed").is_file(),
    "pipelines": str(default_pipelines_path()),
    "names": [p.name for p in load_pipelines().pipelines],
    "listed": [r.key for r in store.list_objects(prefix)],
}))
"""


def test_the_package_works_installed_outside_the_repository(tmp_path: Path) -> None:
    """A copy of the package in a bare site directory, a project folder elsewhere: the pipelines file is
    found next to Airflow's dags folder, not next to the package."""
    site = tmp_path / "site-packages"
    shutil.copytree(PACKAGE, site / "encord_provider", ignore=shutil.ignore_patterns("__pycache__"))
    project = tmp_path / "project"
    (project / "dags").mkdir(parents=True)
    (project / "include").mkdir()
    shutil.copy(ROOT / "include" / "pipelines.yaml", project / "include" / "pipelines.yaml")
    (tmp_path / "data").mkdir()
    third_party = [p for p in sys.path if p.endswith("site-packages")]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(site), *third_party]),
        "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags"),
        "DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(  # -S: no .pth files, so the repository's editable install is not on the path
        [sys.executable, "-S", "-c", _OUTSIDE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["package"].startswith(str(site)) and result["typed"]
    assert result["pipelines"] == str(project / "include" / "pipelines.yaml") and result["names"]
    assert result["listed"] == ["x.txt"]

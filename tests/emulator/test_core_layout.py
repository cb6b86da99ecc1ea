"""The emulator's module layout: every module imports on its own, the import graph has no cycles, and
the service list fails loudly (a listed service that is missing or serves nothing, an unlisted one)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import encord_emulator
import pytest
from encord_emulator.core import services
from encord_emulator.core.services import ServiceError, check_all_listed, load_services

PACKAGE_DIR = Path(encord_emulator.__file__).parent
ENTRY_POINTS = {"encord_emulator.__main__"}  # runs the CLI when imported


def module_names(package_dir: Path = PACKAGE_DIR) -> list[str]:
    names = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """module -> the package modules it imports at module level or inside functions (static, via ast)."""
    known = set(module_names(package_dir))
    graph: dict[str, set[str]] = {}
    for name in known:
        path = package_dir.parent / Path(*name.split("."))
        source = (path / "__init__.py") if path.is_dir() else path.with_suffix(".py")
        graph[name] = set()
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in known and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_import_graph_has_no_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 40  # the whole package was read
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_imports_in_isolation() -> None:
    """Each module imported first, in a fresh set of emulator modules: no hidden import-order dependency."""
    names = [name for name in module_names() if name not in ENTRY_POINTS]
    script = textwrap.dedent(
        f"""
        import importlib, sys
        failed = []
        for name in {names!r}:
            for loaded in [m for m in sys.modules if m.split(".")[0] == "encord_emulator"]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception as exc:
                failed.append(f"{{name}}: {{type(exc).__name__}}: {{exc}}")
        print("\\n".join(failed))
        sys.exit(1 if failed else 0)
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_are_the_only_writers_of_task_documents() -> None:
    """Task documents are written by the workflow model only (issue 13: they were written from four modules)."""
    writers = []
    for path in PACKAGE_DIR.rglob("*.py"):
        text = path.read_text()
        if "TASK_KIND" in text and any(f"{verb}(TASK_KIND" in text for verb in ("put", "put_many", "delete")):
            writers.append(path.relative_to(PACKAGE_DIR).as_posix())
    assert writers == ["services/workflow/models.py"]


# ---------------------------------------------------------------- the service list


def _fake_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, services_code: dict[str, str]) -> str:
    """A package ``fake_services_<n>`` with one sub-package per entry: {name: responses.py source}."""
    package = f"fake_services_{abs(hash(tmp_path)) % 10**8}"
    root = tmp_path / package
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, code in services_code.items():
        (root / name).mkdir()
        (root / name / "__init__.py").write_text("")
        (root / name / "responses.py").write_text(textwrap.dedent(code))
    monkeypatch.syspath_prepend(str(tmp_path))
    return package


SERVES_ONE_ROUTE = """
    from fastapi import APIRouter
    router = APIRouter()

    @router.get("/ping")
    def ping() -> str:
        return "pong"
"""


def test_the_real_service_list_loads_and_every_service_serves() -> None:
    loaded = load_services()
    assert [service.name for service in loaded] == list(services.SERVICES)
    for service in loaded:
        routes = sum(len(r.routes) for r in (service.router, service.root_router) if r is not None)
        assert routes + service.rpc_count > 0, service.name


def test_a_listed_service_that_is_missing_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _fake_services(tmp_path, monkeypatch, {"pings": SERVES_ONE_ROUTE})
    with pytest.raises(
        ServiceError, match=rf"service 'absent' .* module {package}\.absent\.responses does not exist"
    ):
        load_services(("pings", "absent"), package)


def test_a_listed_service_that_serves_nothing_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _fake_services(tmp_path, monkeypatch, {"pings": SERVES_ONE_ROUTE, "empty": "X = 1\n"})
    with pytest.raises(ServiceError, match=rf"service 'empty': {package}\.empty\.responses serves nothing"):
        load_services(("pings", "empty"), package)


def test_a_service_missing_from_the_list_is_not_silently_unserved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _fake_services(
        tmp_path, monkeypatch, {"pings": SERVES_ONE_ROUTE, "forgotten": SERVES_ONE_ROUTE}
    )
    with pytest.raises(
        ServiceError, match=rf"{package}\.forgotten\.responses exists but service 'forgotten'"
    ):
        check_all_listed(("pings",), package)
    assert [s.name for s in load_services(("pings", "forgotten"), package)] == ["pings", "forgotten"]

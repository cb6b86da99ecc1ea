"""The explicit list of emulator services and how they are loaded.

Each service is a package ``encord_emulator.services.<name>`` with ``responses.py`` (its v2 routes in
``router``, admin routes in ``root_router``, legacy RPC handlers registered with ``@rpc``), ``models.py`` (the
only writer of its document kinds) and optionally ``seed.py`` (its seed sections). Loading fails loudly: a
listed service whose module is missing or serves nothing, and a service package that is not listed, both
stop the emulator at start-up with a ``ServiceError`` naming the module.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from types import ModuleType

from fastapi import APIRouter

from encord_emulator.core.registry import RPC_HANDLERS

# Order matters: seed sections apply in this order (a dataset's folder before the dataset, ...).
SERVICES = ("storage", "datasets", "ontologies", "projects", "workflow", "labels", "annotators", "admin")
SERVICES_PACKAGE = "encord_emulator.services"


class ServiceError(RuntimeError):
    """A service is listed but cannot be served, or exists but is not listed."""


@dataclass(frozen=True)
class Service:
    name: str
    module: ModuleType
    router: APIRouter | None  # mounted at /v2/public
    root_router: APIRouter | None  # mounted at /
    rpc_count: int


def load_services(names: tuple[str, ...] = SERVICES, package: str = SERVICES_PACKAGE) -> list[Service]:
    """Import every listed service (responses, then seed), checking each serves something."""
    check_all_listed(names, package)
    return [_load(name, package) for name in names]


def check_all_listed(names: tuple[str, ...], package: str = SERVICES_PACKAGE) -> None:
    """A service package with a ``responses`` module that is not in ``names`` would go unserved: refuse."""
    root = importlib.import_module(package)
    for info in pkgutil.iter_modules(root.__path__):
        if info.ispkg and info.name not in names and _exists(f"{package}.{info.name}.responses"):
            raise ServiceError(
                f"{package}.{info.name}.responses exists but service {info.name!r} is not listed in "
                f"SERVICES {names}: its routes would not be served"
            )


def _load(name: str, package: str) -> Service:
    module_name = f"{package}.{name}.responses"
    if not _exists(module_name):
        raise ServiceError(f"service {name!r} is listed in SERVICES but module {module_name} does not exist")
    module = importlib.import_module(module_name)
    service = Service(
        name=name,
        module=module,
        router=_router(module, "router"),
        root_router=_router(module, "root_router"),
        rpc_count=sum(1 for handler in RPC_HANDLERS.values() if handler.__module__ == module_name),
    )
    routes = sum(len(r.routes) for r in (service.router, service.root_router) if r is not None)
    if routes + service.rpc_count == 0:
        raise ServiceError(f"service {name!r}: {module_name} serves nothing (no router, root_router or @rpc)")
    if _exists(f"{package}.{name}.seed"):
        importlib.import_module(f"{package}.{name}.seed")  # registers its seed sections
    return service


def _router(module: ModuleType, attribute: str) -> APIRouter | None:
    router = getattr(module, attribute, None)
    return router if isinstance(router, APIRouter) else None


def _exists(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False

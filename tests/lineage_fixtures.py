"""`hook_lineage`: Airflow's hook lineage collector, switched on for one test.

The collector is a no-op unless a `HookLineageReader` plugin (OpenLineage, say) is installed; the fixture
registers the stock reader the way such a plugin would and hands back the (fresh) global collector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def hook_lineage(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from airflow.sdk import lineage, plugins_manager

    monkeypatch.setattr(
        plugins_manager, "get_hook_lineage_readers_plugins", lambda: [lineage.HookLineageReader]
    )
    lineage.get_hook_lineage_collector.cache_clear()
    collector = lineage.get_hook_lineage_collector()
    assert isinstance(collector, lineage.HookLineageCollector) and not isinstance(
        collector, lineage.NoOpCollector
    )
    yield collector
    lineage.get_hook_lineage_collector.cache_clear()


def lineage_uris(collector: Any) -> tuple[set[str], set[str]]:
    """(input URIs, output URIs) the collector holds."""
    collected = collector.collected_assets
    return {info.asset.uri for info in collected.inputs}, {info.asset.uri for info in collected.outputs}

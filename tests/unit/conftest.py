"""Fixtures of the unit tests: local-disk buckets for the inventory tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from encord_provider.storage.local import LocalStore


@pytest.fixture
def inv(tmp_path: Path) -> LocalStore:
    """The bucket an inventory is delivered to."""
    return LocalStore(tmp_path / "inv")


@pytest.fixture
def source(tmp_path: Path) -> LocalStore:
    """The inventoried bucket (only its URLs are used)."""
    return LocalStore(tmp_path / "src")

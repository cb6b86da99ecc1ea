"""Bucket inventories as a listing source: S3 Inventory (CSV, ORC, Parquet), GCS Storage Insights
inventory reports and Azure blob inventory (CSV, Parquet), streamed as the `ObjectRecord`s a bucket
listing yields. See docs/storage.md, "Inventories"."""

from encord_provider.storage.inventory.errors import (
    ChecksumMismatchError,
    InventoryError,
    StaleInventoryError,
)
from encord_provider.storage.inventory.model import DataFile, InventoryKind, Manifest
from encord_provider.storage.inventory.snapshot import (
    Inventory,
    check_freshness,
    inventory_location,
    open_inventory,
)
from encord_provider.storage.inventory.stats import InventoryStats

__all__ = [
    "ChecksumMismatchError",
    "DataFile",
    "Inventory",
    "InventoryError",
    "InventoryKind",
    "InventoryStats",
    "Manifest",
    "StaleInventoryError",
    "check_freshness",
    "inventory_location",
    "open_inventory",
]

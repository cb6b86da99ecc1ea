"""How a pipeline lists its source bucket: LIST requests (the default), or the bucket's inventory.

`source.listing` in the pipelines file:

    listing:
      mode: inventory            # list (default) | inventory
      inventory:
        uri: s3://inventory-bucket/inventories/my-bucket/daily/   # the runs' folder, or one manifest
        format: s3               # s3 | gcs | azure; defaults to the source's cloud, must match it
        conn_id: aws_inventory   # defaults to the source's connection
        max_age_hours: 48
        on_stale: error          # error | warn
      partitions:                # date-partitioned keys under the prefix: list only recent partitions
        format: "dt=%Y-%m-%d/"   # strftime of a partition, relative to the prefix (UTC)
        safety_lag: 1d           # also list partitions this far below the watermark (default 1 day)
      full_listing_every: 7d     # a pruned run still lists everything this often (default 7 days)

Durations are seconds, or a number with s, m, h or d. Plain pydantic, checked when the pipelines file is loaded; nothing is read at DAG-parse time.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from encord_provider.config.bucket_uri import check_bucket_uri
from encord_provider.config.durations import DurationOrZero

InventoryFormat = Literal[
    "s3", "gcs", "azure"
]  # the readers in storage/inventory/ (an inventory's own format)
_PARTITION_DIRECTIVES = set("YmdH")


class InventoryConfig(BaseModel):
    """Where the inventory is delivered and how fresh it must be."""

    model_config = ConfigDict(extra="forbid")

    uri: str = Field(description="Folder the inventory runs are delivered to, or one manifest file.")
    format: InventoryFormat | None = Field(
        None, description="Inventory format; defaults to the source cloud."
    )
    conn_id: str | None = Field(
        None, description="Connection of the inventory bucket; defaults to the source's."
    )
    endpoint_url: str | None = Field(None, description="Endpoint override of the inventory bucket.")
    rule: str | None = Field(
        None, min_length=1, description="Azure inventory rule name (needed with several)."
    )
    max_age_hours: float = Field(48.0, gt=0, description="An older inventory is stale (see on_stale).")
    on_stale: Literal["error", "warn"] = Field(
        "error", description="A stale inventory fails the run (error) or only logs a warning (warn)."
    )
    verify_checksums: bool = Field(True, description="Check manifest and data file MD5s where given.")

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str) -> str:
        check_bucket_uri(value, "inventory", "inventory")
        return value  # a trailing slash is kept: it marks a folder

    @model_validator(mode="after")
    def _rule_is_azure(self) -> InventoryConfig:
        if self.rule and self.format not in (None, "azure"):
            raise ValueError(f"'rule' is only used with Azure inventories (format is {self.format!r})")
        return self


class PartitionConfig(BaseModel):
    """Keys under the prefix start with a date partition, e.g. `dt=2024-05-01/`: a run lists only the
    partitions at or after `watermark - safety_lag` (docs/ingestion.md, "Watermarks")."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(min_length=2, description="strftime of one partition (UTC), e.g. 'dt=%Y-%m-%d/'.")
    safety_lag: DurationOrZero = Field(
        timedelta(days=1), description="Partitions this far below the watermark are listed again."
    )
    pruning: Literal["start_after", "prefixes"] = Field(
        "start_after",
        description=(
            "How the partitions are skipped when they sort like their dates: one StartAfter request (also "
            "lists future partitions; a service that scans its keys for it, like moto, pays for every key) "
            "or one prefix per partition up to tomorrow (later ones wait for the full listing)."
        ),
    )

    @field_validator("format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        directives = re.findall(r"%(.)", value.replace("%%", ""))
        if not directives or not set(directives) <= _PARTITION_DIRECTIVES or "Y" not in directives:
            raise ValueError(
                f"partition format {value!r} must use %Y and only %Y, %m, %d, %H (got {directives})"
            )
        if not value.endswith("/"):
            raise ValueError(f"partition format {value!r} must end with '/' (a partition is a key prefix)")
        return value

    @field_validator("safety_lag")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("safety_lag must not be negative")
        return value

    @property
    def key_monotonic(self) -> bool:
        """Partitions sort like their dates (`%Y` before `%m` before `%d` before `%H`, all zero-padded), so
        one StartAfter covers every partition from the bound on, including future ones."""
        directives = re.findall(r"%(.)", self.format.replace("%%", ""))
        return directives == ["Y", "m", "d", "H"][: len(directives)]


class ListingConfig(BaseModel):
    """`mode: list` lists the bucket; `mode: inventory` reads the newest finished inventory instead."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["list", "inventory"] = "list"
    inventory: InventoryConfig | None = None
    partitions: PartitionConfig | None = None
    full_listing_every: DurationOrZero = Field(
        timedelta(days=7),
        description="With partitions, a run lists the whole prefix when the last full listing is this old "
        "(late objects in old partitions, deletions); 0 lists everything every run.",
    )

    @model_validator(mode="after")
    def _check_mode(self) -> ListingConfig:
        if self.mode == "inventory" and self.inventory is None:
            raise ValueError("mode 'inventory' needs an 'inventory' section (uri, ...)")
        if self.mode == "list" and self.inventory is not None:
            raise ValueError("'inventory' is only used with mode 'inventory' (mode is 'list')")
        if self.full_listing_every < timedelta(0):
            raise ValueError("full_listing_every must not be negative")
        return self

    @property
    def key_ordered(self) -> bool:
        """True when records arrive in key order (LIST); an inventory's come in manifest order, so a
        manifest build over them needs `input_order=InputOrder.ANY` (sorted on disk)."""
        return self.mode == "list"

    def check_cloud(self, cloud: str) -> None:
        """An inventory describes the source bucket, so its format is the source's cloud."""
        if self.inventory is None:
            return
        if cloud not in get_args(InventoryFormat):
            raise ValueError(f"cloud {cloud!r} has no inventory format; use listing mode 'list'")
        if self.inventory.format not in (None, cloud):
            raise ValueError(
                f"inventory format {self.inventory.format!r} does not match the source cloud {cloud!r}"
            )
        if self.inventory.rule and cloud != "azure":
            raise ValueError(f"'rule' is only used with Azure inventories (the source cloud is {cloud!r})")

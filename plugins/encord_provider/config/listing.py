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

Plain pydantic, checked when the pipelines file is loaded; nothing is read at DAG-parse time.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from encord_provider.config.bucket_uri import check_bucket_uri

InventoryFormat = Literal[
    "s3", "gcs", "azure"
]  # the readers in storage/inventory/ (an inventory's own format)


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


class ListingConfig(BaseModel):
    """`mode: list` lists the bucket; `mode: inventory` reads the newest finished inventory instead."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["list", "inventory"] = "list"
    inventory: InventoryConfig | None = None

    @model_validator(mode="after")
    def _check_mode(self) -> ListingConfig:
        if self.mode == "inventory" and self.inventory is None:
            raise ValueError("mode 'inventory' needs an 'inventory' section (uri, ...)")
        if self.mode == "list" and self.inventory is not None:
            raise ValueError("'inventory' is only used with mode 'inventory' (mode is 'list')")
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

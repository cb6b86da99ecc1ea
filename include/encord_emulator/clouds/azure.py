"""``azure`` backend on Azurite (azure-storage-blob; SAS-signed download URLs)."""

from __future__ import annotations

import re
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from encord_emulator.clouds.base import NoArnUrls, ObjectInfo, ObjectLocation, UrlError, path_style

_AZURE_HOST = re.compile(r"^(?P<account>[a-z0-9]+)\.blob\.core\.windows\.net$")


class AzureBackend(NoArnUrls):
    provider = "azure"
    storage_location = "azure"
    uri_scheme = ""

    def host_location(self, host: str, path: str, integration: dict[str, Any]) -> ObjectLocation | None:
        match = _AZURE_HOST.match(host)
        if match is None:
            return None
        account = integration.get("account_name")
        if account and match.group("account") != account:
            raise UrlError(f"storage account {match.group('account')!r} is not the integration's {account!r}")
        return path_style(path, host)

    def integration_fields(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Account name, key and endpoint may come from a ``connection_string``; name and key are required."""
        doc = {**entry, **_connection_string_fields(entry)}
        if not (doc.get("account_name") and doc.get("account_key")):
            raise ValueError("azure needs connection_string or account_name + account_key")
        return doc

    def make_client(self, integration: dict[str, Any]) -> Any:
        from azure.storage.blob import BlobServiceClient

        if integration.get("connection_string"):
            return BlobServiceClient.from_connection_string(integration["connection_string"])
        credential = {"account_name": integration["account_name"], "account_key": integration["account_key"]}
        return BlobServiceClient(account_url=str(integration.get("endpoint_url")), credential=credential)

    def head(self, client: Any, loc: ObjectLocation) -> ObjectInfo | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = client.get_blob_client(loc.bucket, loc.key).get_blob_properties()
        except ResourceNotFoundError:
            return None
        return ObjectInfo(int(props.size), props.content_settings.content_type)

    def read(self, client: Any, loc: ObjectLocation, length: int | None) -> bytes:
        stream = client.get_blob_client(loc.bucket, loc.key).download_blob(offset=0, length=length)
        return bytes(stream.readall())

    def signed_url(self, client: Any, integration: dict[str, Any], loc: ObjectLocation, expires: int) -> str:
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        sas = generate_blob_sas(
            account_name=integration["account_name"],
            container_name=loc.bucket,
            blob_name=loc.key,
            account_key=integration["account_key"],
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(UTC) + timedelta(seconds=expires),
        )
        endpoint = str(integration["endpoint_url"]).rstrip("/")
        return f"{endpoint}/{loc.bucket}/{urllib.parse.quote(loc.key)}?{sas}"


def _connection_string_fields(entry: dict[str, Any]) -> dict[str, Any]:
    conn = entry.get("connection_string")
    if not conn:
        return {}
    parts = dict(part.split("=", 1) for part in conn.split(";") if "=" in part)
    fields = {"account_name": parts.get("AccountName"), "account_key": parts.get("AccountKey")}
    if parts.get("BlobEndpoint"):
        fields["endpoint_url"] = parts["BlobEndpoint"].rstrip("/")
    return {k: v for k, v in fields.items() if v and not entry.get(k)}

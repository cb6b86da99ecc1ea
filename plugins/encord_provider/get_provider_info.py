"""Provider metadata read by Airflow's ProvidersManager through the `apache_airflow_provider` entry point."""

from __future__ import annotations

from typing import Any

from encord_provider import __version__

ENCORD_PUBLIC_DOMAIN = "https://api.encord.com"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-encord",
        "name": "Encord",
        "description": "Register cloud-bucket data in Encord, drain agent stages and export label versions.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Encord",
                "external-doc-url": "https://docs.encord.com/",
                "tags": ["software"],
            },
        ],  # fmt: skip
        "hooks": [
            {"integration-name": "Encord", "python-modules": ["encord_provider.hooks.encord"]},
        ],
        "operators": [
            {
                "integration-name": "Encord",
                "python-modules": [
                    "encord_provider.operators.ingest",
                    "encord_provider.operators.agents",
                    "encord_provider.operators.export",
                    "encord_provider.operators.bootstrap",
                ],
            },
        ],
        "triggers": [
            {
                "integration-name": "Encord",
                "python-modules": [
                    "encord_provider.triggers.upload_job",
                    "encord_provider.triggers.bucket_poll",
                ],
            },
        ],
        "extra-links": [
            "encord_provider.operators.links.EncordProjectLink",
            "encord_provider.operators.links.EncordFolderLink",
            "encord_provider.operators.links.EncordDatasetLink",
        ],
        "asset-uris": [
            {"schemes": ["encord"], "handler": "encord_provider.assets.normalize_encord_uri"},
        ],
        "connection-types": [
            {
                "connection-type": "encord",
                "hook-class-name": "encord_provider.hooks.encord.EncordHook",
                "hook-name": "Encord",
                "conn-fields": {
                    "private_key": {
                        "label": "SSH private key",
                        "description": "OpenSSH private key registered with Encord (paste the whole key, "
                        "including the BEGIN/END lines). Leave empty to use ENCORD_SSH_KEY or "
                        "ENCORD_SSH_KEY_FILE on the workers.",
                        "schema": {"type": ["string", "null"], "format": "multiline"},
                    },
                    "domain": {
                        "label": "API domain",
                        "description": "https://api.encord.com (EU), https://api.us.encord.com (US), "
                        "a private-cloud domain, or a local emulator URL.",
                        "schema": {"type": ["string", "null"], "default": ENCORD_PUBLIC_DOMAIN},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login", "password", "host", "extra"],
                    "relabeling": {},
                    "placeholders": {},
                },
            }
        ],
    }

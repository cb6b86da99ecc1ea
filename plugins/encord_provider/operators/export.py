"""EncordExportLabelsOperator: write the next label version of a project to a warehouse bucket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from encord_provider import lineage
from encord_provider.hooks.encord import EncordHook
from encord_provider.operators.failures import failing_fast
from encord_provider.operators.links import EncordProjectLink


class EncordExportLabelsOperator(BaseOperator):
    """Export Encord labels as a versioned folder (Encord JSON, COCO, flat table, manifest, `_SUCCESS`).

    :param project_name: folder name of the project under the prefix.
    :param project_hash: the Encord project.
    :param warehouse_uri: `s3://bucket[/path]`, `gs://…`, `az://container[/path]` or `file:///dir`.
    :param warehouse_conn_id: Airflow connection of the bucket (aws / google_cloud_platform / wasb).
    :param prefix: key prefix appended to the URI's path.
    :param stage: only label rows currently in this workflow stage (title).
    :param label_statuses: the Legacy export dialog's label statuses to include (None = all).
    :param data_units: "labelled" (only data units with labels) or "all" (unlabelled ones with empty labels).
    :param coco_options: `CocoOptions` fields (`point_segmentation`, `mask_iscrowd`) for coco.json.
    :param force_full: write a full snapshot whatever the schedule of full versions says.
    :param version_name: explicit version folder name (manual runs); default from `version_name_template`.
    :param run_key: identifies the interval; a rerun with the same key returns the version already written.
    :param bundle_size: label rows listed and initialised per request (one page).
    :param fetch_workers: pages fetched at once while the previous ones are written.
    """

    operator_extra_links = (EncordProjectLink(),)
    template_fields: Sequence[str] = (
        "project_hash",
        "stage",
        "version_name",
        "run_key",
        "force_full",
        "prefix",
    )
    ui_color = "#d4f0d4"

    def __init__(
        self,
        *,
        project_name: str,
        project_hash: str,
        warehouse_uri: str,
        encord_conn_id: str = EncordHook.default_conn_name,
        warehouse_conn_id: str | None = None,
        endpoint_url: str | None = None,
        prefix: str = "encord-labels",
        stage: str | None = None,
        include_object_feature_hashes: Sequence[str] | None = None,
        include_classification_feature_hashes: Sequence[str] | None = None,
        signed_urls: bool = False,
        label_statuses: Sequence[str] | None = None,
        data_units: str = "labelled",
        formats: Sequence[str] = ("json", "coco", "parquet"),
        coco_options: dict[str, Any] | None = None,
        version_name_template: str = "v{number:05d}_{created_at:%Y%m%dT%H%M%SZ}",
        full_snapshot_every: int = 10,
        rows_per_file: int = 50_000,
        bundle_size: int = 500,
        fetch_workers: int = 2,
        force_full: bool | str = False,
        version_name: str | None = None,
        run_key: str | None = "{{ run_id }}",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_name = project_name
        self.project_hash = project_hash
        self.warehouse_uri = warehouse_uri
        self.encord_conn_id = encord_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.endpoint_url = endpoint_url
        self.prefix = prefix
        self.stage = stage
        self.include_object_feature_hashes = include_object_feature_hashes
        self.include_classification_feature_hashes = include_classification_feature_hashes
        self.signed_urls = signed_urls
        self.label_statuses = label_statuses
        self.data_units = data_units
        self.formats = list(formats)
        self.coco_options = dict(coco_options or {})
        self.version_name_template = version_name_template
        self.full_snapshot_every = full_snapshot_every
        self.rows_per_file = rows_per_file
        self.bundle_size = bundle_size
        self.fetch_workers = fetch_workers
        self.force_full = force_full
        self.version_name = version_name
        self.run_key = run_key

    def _filters(self) -> Any:
        from encord_provider.exports.model import ExportFilters

        objects = self.include_object_feature_hashes
        classifications = self.include_classification_feature_hashes
        # validated: label_statuses and data_units are plain strings here (operator arguments)
        return ExportFilters.model_validate(
            {
                "stage": self.stage or None,
                "include_object_feature_hashes": tuple(objects) if objects else None,
                "include_classification_feature_hashes": tuple(classifications) if classifications else None,
                "signed_urls": self.signed_urls,
                "label_statuses": tuple(self.label_statuses) if self.label_statuses else None,
                "data_units": self.data_units,
            }
        )

    @failing_fast
    def execute(self, context: Any) -> dict[str, Any]:
        from encord_provider.exports.model import CocoOptions
        from encord_provider.exports.run import ExportSpec, export_labels
        from encord_provider.exports.source import SdkLabelSource
        from encord_provider.exports.versions import join_key
        from encord_provider.storage.factory import store_from_url

        store, uri_path = store_from_url(
            self.warehouse_uri, endpoint_url=self.endpoint_url, conn_id=self.warehouse_conn_id
        )
        api = EncordHook(self.encord_conn_id).api
        project = api.project(self.project_hash)
        spec = ExportSpec(
            project=self.project_name,
            project_hash=self.project_hash,
            base_prefix=join_key(uri_path, self.prefix),
            filters=self._filters(),
            formats=tuple(self.formats),
            coco=CocoOptions.model_validate(self.coco_options),
            version_name_template=self.version_name_template,
            full_snapshot_every=self.full_snapshot_every,
            rows_per_file=self.rows_per_file,
            force_full=str(self.force_full).lower() in ("true", "1", "yes"),
            version_name=self.version_name or None,
            run_key=self.run_key or None,
        )
        source = SdkLabelSource(project, self.bundle_size, workers=self.fetch_workers, read=api.read)
        result = export_labels(store, source, spec)
        self.log.info(
            "export %s: %s %s (%s) %s",
            spec.project,
            result.status,
            result.version,
            result.kind,
            result.reason,
        )
        if result.uri:
            self.log.info("version folder: %s counts: %s", result.uri, result.counts)
            listed = api.read(lambda: list(project.list_datasets()), "list project datasets")
            datasets = [str(d.dataset_hash) for d in listed]
            lineage.report_export(self.encord_conn_id, self.project_hash, datasets, result.uri)
        return result.xcom()

"""The data-type registry (manifests.datatypes.TYPES): config, run Params, manifests and run reports read
one table, and the config spelling users write today ("dicom") keeps working beside the manifest one."""

from __future__ import annotations

import pytest
from encord_provider.config import PipelinesConfigError, parse_pipelines
from encord_provider.config.ingest import DATA_TYPES
from encord_provider.ingest.manifest import kind_of, manifest_config
from encord_provider.manifests.datatypes import (
    CONFIG_NAMES,
    JSON_KEYS,
    TYPES,
    DataType,
    TypeMap,
    config_name,
    mime_type_of,
    parse_data_type,
)
from encord_provider.manifests.metadata import METADATA_KEYS, PROBES, probe_image
from encord_provider.operators.ingest_dag import ingest_params

PIPELINE = """
pipelines:
  - name: p
    source: {cloud: s3, bucket: media}
    integration: {title: i}
    folder: {name: f}
    staging: {uri: "s3://staging/encord"}
    chunking: {per_type: PER_TYPE}
"""


def test_every_data_type_has_one_entry() -> None:
    assert set(TYPES) == set(DataType)
    assert len(set(CONFIG_NAMES)) == len(CONFIG_NAMES) == len(DataType)
    assert DATA_TYPES == CONFIG_NAMES
    assert (config_name(DataType.DICOM_SERIES), JSON_KEYS[DataType.DICOM_SERIES]) == ("dicom", "dicom_series")


@pytest.mark.parametrize("spec", list(TYPES.values()), ids=lambda s: s.config_name)
def test_each_types_extensions_classify_as_it(spec: object) -> None:
    type_map = TypeMap()
    for ext in spec.extensions:  # type: ignore[attr-defined]
        assert type_map.classify(f"a/b{ext}") == spec.data_type  # type: ignore[attr-defined]
        assert kind_of(f"a/b{ext}") == spec.config_name  # type: ignore[attr-defined]
    for ext, mime in spec.mime_types.items():  # type: ignore[attr-defined]
        assert mime_type_of(f"x{ext}") == mime


def test_config_manifest_and_alias_spellings_all_parse() -> None:
    for name in ("dicom", "dicom_series", "DICOM", "videos", "image_group"):
        assert isinstance(parse_data_type(name), DataType)
    with pytest.raises(ValueError, match="'dicom'"):
        parse_data_type("tiff")


def test_config_per_type_accepts_both_dicom_spellings() -> None:
    for written in ("dicom", "dicom_series"):
        pipeline = parse_pipelines(PIPELINE.replace("PER_TYPE", f"{{{written}: 5}}")).pipelines[0]
        assert pipeline.chunking.per_type == {"dicom": 5}  # read as the config spelling
        assert manifest_config(pipeline).per_type[DataType.DICOM_SERIES] == 5


def test_an_unknown_per_type_lists_the_config_names() -> None:
    with pytest.raises(
        PipelinesConfigError, match=r"chunking.per_type.tiff: Input should be 'video', 'audio'"
    ):
        parse_pipelines(PIPELINE.replace("PER_TYPE", "{tiff: 5}"))


def test_run_params_offer_the_config_names() -> None:
    pipeline = parse_pipelines(PIPELINE.replace("PER_TYPE", "{video: 5}")).pipelines[0]
    assert ingest_params(pipeline)["data_types"].schema["items"]["enum"] == list(CONFIG_NAMES)


def test_probes_and_their_blocks_come_from_the_registry() -> None:
    assert PROBES[DataType.IMAGE] is probe_image
    assert set(PROBES) == set(METADATA_KEYS) == {t for t, spec in TYPES.items() if spec.probe}

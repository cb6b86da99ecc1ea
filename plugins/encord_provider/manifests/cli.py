"""`encord-manifest`: list a bucket and write chunked Encord registration manifests plus a rejection report.

Example:
    encord-manifest s3://my-bucket/raw/ ./manifests --endpoint-url http://localhost:5000 --image-mode group

Exit status: 0 done; 1 done but objects were rejected and `--fail-on-rejections` was given; 2 error (bad
option or URI, invalid bucket name, missing bucket, bad credentials, unreachable endpoint...). An error is
one line on stderr (`--traceback` shows the Python traceback) and leaves no output behind: the source and
the output bucket are checked before anything is written, and a local output folder is only created by
the first file (and removed again if the build fails).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from encord_provider.errors import PermanentError
from encord_provider.manifests.builder import BuildSummary, build_manifests
from encord_provider.manifests.config import (
    ImageMode,
    ImageModeRule,
    InputOrder,
    ManifestConfig,
    ManifestFormat,
    OverflowPolicy,
    OversizePolicy,
)
from encord_provider.manifests.datatypes import DataType, TypeMap, parse_data_type
from encord_provider.manifests.rejections import SkipReport
from encord_provider.manifests.writer import ChunkSink, LocalDirSink, StoreSink
from encord_provider.storage.base import ObjectStore
from encord_provider.storage.bucket_names import bucket_name_problem
from encord_provider.storage.diagnose import describe_error
from encord_provider.storage.filters import FilterStats, ListingFilter
from encord_provider.storage.records import ObjectRecord

DEFAULT_SIDECAR_SUFFIX = ".metadata.json"
PROBES = ("images", "videos", "pdfs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="encord-manifest",
        description="List a bucket and write chunked Encord registration manifests (JSON or CSV), one "
        "<chunk>.objects.jsonl index per chunk (entry -> source objects), rejections.jsonl and summary.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "source", help="bucket URL to list: s3://bucket/prefix, gs://bucket/prefix, az://container/prefix"
    )
    parser.add_argument(
        "output", help="local directory or bucket URL (s3://, gs://, az://) to write the files to"
    )
    _storage_options(parser)
    _format_options(parser)
    _chunk_options(parser)
    _filter_options(parser)
    _grouping_options(parser)
    _metadata_options(parser)
    parser.add_argument(
        "--fail-on-rejections", action="store_true", help="exit with status 1 if any object was rejected"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON instead of text")
    parser.add_argument(
        "--timeout", type=float, default=60.0, metavar="SECONDS",
        help="give up when the source or output bucket does not answer its first listing within this time",
    )  # fmt: skip
    parser.add_argument("--traceback", action="store_true", help="show the Python traceback of an error")
    return parser


def _storage_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("storage")
    group.add_argument(
        "--endpoint-url", help="storage endpoint of the source (S3-compatible, fake-gcs, Azurite)"
    )
    group.add_argument(
        "--conn-id", help="Airflow connection id for the source (else environment credentials)"
    )
    group.add_argument(
        "--bucket-region", metavar="REGION",
        help="s3:// sources: the region object URLs name (default: the bucket's own, looked up)",
    )  # fmt: skip
    group.add_argument(
        "--output-endpoint-url", help="endpoint of the output bucket (default: --endpoint-url)"
    )
    group.add_argument(
        "--output-conn-id", help="Airflow connection id for the output bucket (default: --conn-id)"
    )


def _format_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("format")
    group.add_argument(
        "--format", choices=[f.value for f in ManifestFormat], default="json", help="manifest format"
    )
    group.add_argument(
        "--no-skip-duplicates", dest="skip_duplicates", action="store_false",
        help="write skip_duplicate_urls: false (default true: re-registering a URL is a no-op, retries are safe)",
    )  # fmt: skip
    group.add_argument("--chunk-prefix", default="chunk-", help="file name prefix of the chunks")
    group.add_argument("--title-strip-prefix", default="", help="remove this key prefix from titles")


def _chunk_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("chunking (Encord limits are the maximum)")
    group.add_argument(
        "--max-entries", type=int, default=10_000, help="entries per manifest file (<= 10,000)"
    )
    group.add_argument("--max-videos", type=int, default=100, help="videos per chunk")
    group.add_argument("--max-images", type=int, default=1000, help="single images per chunk")
    group.add_argument(
        "--per-type", action="append", default=[], metavar="TYPE=N",
        help="entries of TYPE per chunk, e.g. audio=500 (types: " + ", ".join(t.value for t in DataType) + ")",
    )  # fmt: skip
    group.add_argument(
        "--max-media-bytes", type=int, default=2_000_000_000, help="media bytes per upload batch"
    )
    group.add_argument("--max-manifest-bytes", type=int, default=100_000_000, help="bytes per JSON file")
    group.add_argument(
        "--separate-types", action="store_true", help="one data type per chunk (default: mixed)"
    )
    group.add_argument(
        "--oversize", choices=[p.value for p in OversizePolicy], default="own_chunk",
        help="an entry whose media alone exceeds --max-media-bytes: own chunk or reject",
    )  # fmt: skip


def _filter_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (filtered objects are listed in skipped.jsonl, not rejected)")
    group.add_argument(
        "--include", action="append", default=[], metavar="GLOB", help="keep keys matching a glob"
    )
    group.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="drop keys matching a glob"
    )
    group.add_argument("--min-size", type=int, help="drop objects smaller than this many bytes")
    group.add_argument("--max-size", type=int, help="drop objects larger than this many bytes")
    group.add_argument(
        "--modified-since", help="keep objects modified at/after this ISO time (UTC if no zone)"
    )
    group.add_argument(
        "--unsorted", action="store_true",
        help="the listing is not in key order: sort on disk first (S3/GCS/Azure listings are sorted)",
    )  # fmt: skip


def _grouping_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("grouping")
    group.add_argument(
        "--image-mode", choices=[m.value for m in ImageMode], default="single",
        help="single images, or one image group / image sequence per folder (or --group-regex capture); "
        "the mode of images no --image-mode-rule matches",
    )  # fmt: skip
    group.add_argument(
        "--image-mode-rule", action="append", default=[], metavar="PATTERN=MODE",
        help="image mode for matching keys, repeatable, first match wins: PATTERN is a key prefix "
        "('raw/photos/'), a path glob on the whole key ('raw/sequences/**', '**/groups/**'; no '/' = last "
        "segment) or 're:REGEX' searched in the key; MODE is single, group or sequence. "
        "E.g. --image-mode-rule 'raw/sequences/**=sequence' --image-mode-rule 're:/cam\\d+/=group'",
    )  # fmt: skip
    group.add_argument(
        "--group-regex", help="regex searched in keys; capture group 1 (or 'group') is the group id"
    )
    group.add_argument(
        "--no-group-dicom", action="store_true", help="one DICOM series per file instead of per folder"
    )
    group.add_argument(
        "--dicom-prefix", action="append", default=[], metavar="PREFIX",
        help="extensionless objects under PREFIX are DICOM files",
    )  # fmt: skip
    group.add_argument("--max-sequence-frames", type=int, default=32_767, help="frames per image sequence")
    group.add_argument(
        "--sequence-overflow", choices=[p.value for p in OverflowPolicy], default="split",
        help="longer sequences (and groups over --max-group-objects) are split into parts or rejected",
    )  # fmt: skip
    group.add_argument(
        "--max-group-objects", type=int, default=32_767, help="objects per image group / DICOM series"
    )


def _metadata_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("metadata (JSON only)")
    group.add_argument(
        "--sidecars", nargs="?", const=DEFAULT_SIDECAR_SUFFIX, metavar="SUFFIX",
        help=f"read clientMetadata from <key>SUFFIX sidecar objects (default suffix {DEFAULT_SIDECAR_SUFFIX})",
    )  # fmt: skip
    group.add_argument(
        "--probe", action="append", default=[], choices=PROBES,
        help="add metadata blocks read from object headers (range reads): image size, MP4/MOV video "
        "fps/duration/size, PDF page count; repeatable",
    )  # fmt: skip


def config_from_args(args: argparse.Namespace) -> ManifestConfig:
    per_type: dict[DataType, int] = {DataType.VIDEO: args.max_videos, DataType.IMAGE: args.max_images}
    for item in args.per_type:
        name, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise ValueError(f"--per-type expects TYPE=N, got {item!r}")
        per_type[parse_data_type(name)] = int(count)
    return ManifestConfig(
        format=ManifestFormat(args.format),
        skip_duplicate_urls=args.skip_duplicates,
        type_map=TypeMap(extensionless_dicom_prefixes=tuple(args.dicom_prefix)),
        image_mode=ImageMode(args.image_mode),
        image_mode_rules=tuple(ImageModeRule.parse(text) for text in args.image_mode_rule),
        group_regex=args.group_regex,
        group_dicom=not args.no_group_dicom,
        max_sequence_frames=args.max_sequence_frames,
        sequence_overflow=OverflowPolicy(args.sequence_overflow),
        max_group_objects=args.max_group_objects,
        group_overflow=OverflowPolicy(args.sequence_overflow),
        title_strip_prefix=args.title_strip_prefix,
        max_entries=args.max_entries,
        per_type=per_type,
        max_manifest_bytes=args.max_manifest_bytes,
        max_media_bytes=args.max_media_bytes,
        oversize_policy=OversizePolicy(args.oversize),
        mix_types=not args.separate_types,
        sidecar_suffix=args.sidecars,
        probe_images="images" in args.probe,
        probe_videos="videos" in args.probe,
        probe_pdfs="pdfs" in args.probe,
        input_order=InputOrder.ANY if args.unsorted else InputOrder.SORTED,
        chunk_prefix=args.chunk_prefix,
    )


def listing_filter(args: argparse.Namespace, prefix: str) -> ListingFilter:
    since = None
    if args.modified_since:
        since = datetime.fromisoformat(args.modified_since)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    return ListingFilter(
        prefix=prefix,
        include=tuple(args.include),
        exclude=tuple(args.exclude),
        min_size=args.min_size,
        max_size=args.max_size,
        modified_since=since,
    )


class CliError(PermanentError):
    """An error reported as one line, exit status 2."""


def filtered(
    records: Iterator[ObjectRecord], rules: ListingFilter, sidecar_suffix: str | None, stats: FilterStats
) -> Iterator[ObjectRecord]:
    """Records kept by `rules`; sidecars always pass so they can meet their objects (or be reported)."""
    for record in records:
        if sidecar_suffix and record.key.endswith(sidecar_suffix):
            yield record
            continue
        reason = rules.reject_reason(record)
        stats.observe(record, reason)
        if reason is None:
            yield record


def check_location(location: str, role: str) -> None:
    """Scheme, bucket and bucket name of a source or output location, before any request."""
    from encord_provider.storage.factory import parse_uri

    if "://" not in location:
        return  # a local path
    try:
        parsed = parse_uri(location)
    except ValueError as exc:
        raise CliError(f"{role}: {exc}") from None
    problem = bucket_name_problem(parsed.scheme, parsed.bucket)
    if problem:
        raise CliError(f"{role} {location}: {problem}")


def _listed_span(location: str) -> tuple[str, str, str]:
    """(scheme, bucket, key prefix) a location covers; local paths as ("file", "", absolute path)."""
    from encord_provider.storage.factory import parse_uri

    if "://" in location and not location.startswith("file://"):
        parsed = parse_uri(location)
        return parsed.scheme, parsed.bucket, parsed.key
    path = location.removeprefix("file://")
    absolute = os.path.abspath(path)
    return "file", "", absolute + "/" if path.endswith("/") or os.path.isdir(path) else absolute


def check_output_outside_source(source: str, output: str) -> None:
    """Files written under the listed prefix would be listed (and registered) by this very run."""
    src, out = _listed_span(source), _listed_span(output)
    if src[:2] == out[:2] and (out[2].rstrip("/") + "/").startswith(src[2]):
        raise CliError(f"output {output} is inside the source {source}: its files would be listed")


def first_answer(records: Iterator[ObjectRecord], what: str, timeout: float) -> Iterator[ObjectRecord]:
    """`records` with the first page already fetched, so a missing bucket, bad credentials or an
    unreachable endpoint fail here, before anything is written, and within `timeout` seconds."""
    outcome: dict[str, Any] = {}

    def fetch() -> None:
        try:
            outcome["first"] = next(records, None)
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=fetch, name="encord-manifest-check", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise CliError(f"{what}: no answer within {timeout:g} s (is the endpoint reachable?)")
    if "error" in outcome:
        raise CliError(f"{what}: {describe_error(outcome['error'])}") from outcome["error"]
    first = outcome.get("first")
    return records if first is None else itertools.chain([first], records)


def open_sink(output: str, endpoint_url: str | None, conn_id: str | None, timeout: float = 60.0) -> ChunkSink:
    if "://" not in output or output.startswith("file://"):
        path = output.removeprefix("file://")
        if os.path.exists(path) and not os.path.isdir(path):
            raise CliError(f"output {output}: exists and is not a directory")
        return LocalDirSink(path)
    from encord_provider.storage.factory import store_from_url

    try:
        store, prefix = store_from_url(output, endpoint_url=endpoint_url, conn_id=conn_id)
    except Exception as exc:
        raise CliError(f"output {output}: {describe_error(exc)}") from exc
    first_answer(store.list_objects(prefix), f"output {output}", timeout)  # the bucket exists and answers
    return StoreSink(store, prefix)


def open_source(args: argparse.Namespace) -> tuple[ObjectStore, str]:
    from encord_provider.storage.factory import store_from_url

    extra = {}
    if args.bucket_region:
        from encord_provider.storage.s3 import REGION_PATTERN

        if not args.source.startswith("s3://"):
            raise CliError("--bucket-region applies to s3:// sources only")
        if not re.match(REGION_PATTERN, args.bucket_region):
            raise CliError(f"--bucket-region {args.bucket_region!r} is not a region name like eu-west-2")
        extra["bucket_region"] = args.bucket_region
    if "://" not in args.source or args.source.startswith("file://"):
        path = args.source.removeprefix("file://")
        if not os.path.exists(path if path.endswith("/") or os.path.isdir(path) else os.path.dirname(path)):
            raise CliError(f"source {args.source}: no such directory")
        args.source = "file://" + os.path.abspath(path) + ("/" if path.endswith("/") else "")
    try:
        return store_from_url(args.source, endpoint_url=args.endpoint_url, conn_id=args.conn_id, **extra)
    except Exception as exc:
        raise CliError(f"source {args.source}: {describe_error(exc)}") from exc


def format_summary(summary: BuildSummary) -> str:
    skipped = summary.skipped_by_reason
    lines = [
        f"listed objects kept: {summary.n_input} (filtered out: {summary.n_skipped} {skipped or ''}"
        + (f" -> {summary.skipped_uri}" if summary.n_skipped else "")
        + ")",
        f"registered objects: {summary.n_registered_objects} in {summary.n_entries} entries, "
        f"{len(summary.chunks)} chunk(s); sidecars used: {summary.n_sidecars}",
        f"entries by type: {summary.entries_by_type}",
        f"rejected: {summary.n_rejected} {summary.rejections_by_category or ''} -> {summary.rejections_uri}",
    ]
    if summary.split_groups or summary.oversized_entries or summary.probe_failures:
        lines.append(
            f"split groups: {summary.split_groups}, oversized entries in own chunk: {summary.oversized_entries}, "
            f"probe failures: {summary.probe_failures}"
        )
    lines.extend(
        f"  {chunk.uri}  {chunk.counts}  {chunk.media_bytes} media bytes" for chunk in summary.chunks
    )
    lines.append(f"summary: {summary.summary_uri}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> BuildSummary:
    """Check everything that can be checked, then list and build; raises CliError."""
    try:
        config = config_from_args(args)
        rules = listing_filter(args, "")
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    check_location(args.source, "source")
    check_location(args.output, "output")
    check_output_outside_source(args.source, args.output)
    store, prefix = open_source(args)
    records = first_answer(store.list_objects(prefix), f"source {args.source}", args.timeout)
    sink = open_sink(
        args.output,
        args.output_endpoint_url or args.endpoint_url,
        args.output_conn_id or args.conn_id,
        args.timeout,
    )
    skips = SkipReport()
    stats = FilterStats(on_skip=skips.add)
    rules = dataclasses.replace(rules, prefix=prefix)
    try:
        kept = filtered(records, rules, config.sidecar_suffix, stats)
        return build_manifests(kept, config, sink, store=store, skipped=skips)
    except Exception as exc:
        if isinstance(sink, LocalDirSink):
            sink.discard()
        raise CliError(describe_error(exc)) from exc
    finally:
        skips.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        summary = run(args)
    except CliError as exc:
        if args.traceback:
            raise
        print(f"encord-manifest: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**summary.to_dict(), "filtered_out": summary.skipped_by_reason}, indent=2))
    else:
        print(format_summary(summary))
    return 1 if args.fail_on_rejections and summary.n_rejected else 0


if __name__ == "__main__":
    sys.exit(main())

"""videoMetadata of MP4 / QuickTime (ISO BMFF) files from their `moov` box, read with a few range reads.

Only the first video track is read: width/height from `tkhd`, duration from `mdhd`, fps = sample count
(`stts`) / duration. Fragmented MP4 (`moof`), Matroska/WebM, AVI and MPEG-TS are not parsed: probing
those raises VideoProbeError and the video is registered without a videoMetadata block.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

from encord_provider.errors import PermanentError
from encord_provider.storage.base import ObjectStore

MAX_MOOV_BYTES = 64 * 1024 * 1024
CONTAINERS = {b"trak", b"mdia", b"minf", b"stbl"}


class VideoProbeError(PermanentError, ValueError):
    pass


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise VideoProbeError(f"corrupt box {kind!r} at offset {offset}")
        yield kind, offset + header, offset + size
        offset += size


def _find_moov(store: ObjectStore, key: str, size: int) -> bytes:
    offset = 0
    while offset + 8 <= size:
        head = store.read_range(key, offset, 16)
        box_size, kind = struct.unpack_from(">I4s", head, 0)
        header = 8
        if box_size == 1:
            box_size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif box_size == 0:
            box_size = size - offset
        if box_size < header:
            raise VideoProbeError(f"{key}: corrupt top-level box {kind!r} at offset {offset}")
        if kind == b"moof":
            raise VideoProbeError(f"{key}: fragmented MP4 is not probed")
        if kind == b"moov":
            if box_size > MAX_MOOV_BYTES:
                raise VideoProbeError(f"{key}: moov box of {box_size} bytes is too large to probe")
            return store.read_range(key, offset + header, box_size - header)
        offset += box_size
    raise VideoProbeError(f"{key}: no moov box (not an MP4/QuickTime file?)")


def _duration_fields(data: bytes, start: int) -> tuple[int, int]:
    """(timescale, duration) of an mvhd/mdhd payload."""
    if data[start] == 1:
        return struct.unpack_from(">IQ", data, start + 20)
    return struct.unpack_from(">II", data, start + 12)


def _tkhd_size(data: bytes, start: int) -> tuple[int, int]:
    offset = start + (88 if data[start] == 1 else 76)  # after times, ids, layer, volume and matrix
    width, height = struct.unpack_from(">II", data, offset)
    return width >> 16, height >> 16


def _track(data: bytes, start: int, end: int) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    stack = [(start, end)]
    while stack:
        lo, hi = stack.pop()
        for kind, payload, box_end in _boxes(data, lo, hi):
            if kind in CONTAINERS:
                stack.append((payload, box_end))
            elif kind == b"tkhd":
                facts["width"], facts["height"] = _tkhd_size(data, payload)
            elif kind == b"mdhd":
                facts["timescale"], facts["media_duration"] = _duration_fields(data, payload)
            elif kind == b"hdlr":
                facts["handler"] = data[payload + 8 : payload + 12]
            elif kind == b"stts":
                count = struct.unpack_from(">I", data, payload + 4)[0]
                facts["samples"] = sum(
                    struct.unpack_from(">I", data, payload + 8 + 8 * i)[0] for i in range(count)
                )
    return facts


def probe_mp4(store: ObjectStore, key: str, size: int) -> dict[str, Any]:
    """{fps, duration, width, height} of the first video track."""
    try:
        moov = _find_moov(store, key, size)
        tracks = [_track(moov, lo, hi) for kind, lo, hi in _boxes(moov) if kind == b"trak"]
    except struct.error as exc:
        raise VideoProbeError(f"{key}: truncated MP4 box ({exc})") from None
    video = next((t for t in tracks if t.get("handler") == b"vide"), None)
    if (
        video is None
        or not video.get("timescale")
        or not video.get("media_duration")
        or not video.get("samples")
    ):
        raise VideoProbeError(f"{key}: no video track with timing information")
    duration = video["media_duration"] / video["timescale"]
    return {
        "fps": round(video["samples"] / duration, 3),
        "duration": round(duration, 3),
        "width": video["width"],
        "height": video["height"],
    }

"""Small generated media of several types for the demo bucket (no network, no fixtures on disk).

Images via Pillow, an image sequence (numbered frames in one folder), a minimal MP4 (ftyp + moov/mvhd
boxes: a valid ISO-BMFF container with no tracks), a hand-written one-page PDF with a correct xref table,
a WAV tone, a text file and a three-slice DICOM series (pydicom).
"""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Iterator


def image_bytes(width: int, height: int, colour: tuple[int, int, int], fmt: str = "JPEG") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        [width // 4, height // 4, 3 * width // 4, 3 * height // 4], outline=(255, 255, 255), width=3
    )
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(duration_seconds: int = 2, timescale: int = 1000) -> bytes:
    """ftyp + moov(mvhd v0). Enough for MIME sniffing; the manifest carries the video metadata."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, duration_seconds * timescale)
        + struct.pack(">IH10x", 0x00010000, 0x0100)
        + matrix
        + bytes(24)
        + struct.pack(">I", 2),
    )
    return ftyp + _box(b"moov", mvhd)


def pdf_bytes(text: str = "Encord demo") -> bytes:
    """A one-page PDF with a Helvetica text line and a byte-exact xref table."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def wav_bytes(seconds: float = 0.5, rate: int = 8000, frequency: float = 440.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        frames = int(seconds * rate)
        wav.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / rate)))
                for i in range(frames)
            )
        )
    return out.getvalue()


def dicom_series(slices: int = 3, size: int = 16) -> list[bytes]:
    """A CT-like series: same Study/Series UIDs, one instance per slice, tiny 16-bit pixel data."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    study, series = generate_uid(), generate_uid()
    out = []
    for index in range(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality, ds.PatientName, ds.PatientID = "CT", "Demo^Patient", "DEMO001"
        ds.InstanceNumber = index + 1
        ds.Rows = ds.Columns = size
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = bytes((i * 7 + index) % 256 for i in range(size * size * 2))
        buffer = io.BytesIO()
        pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
        out.append(buffer.getvalue())
    return out


def demo_objects(prefix: str = "incoming/") -> Iterator[tuple[str, bytes, str]]:
    """(key, bytes, content type) for every demo object."""
    colours = [(200, 30, 30), (30, 160, 60), (40, 60, 200), (220, 180, 20)]
    for index, colour in enumerate(colours):
        yield f"{prefix}images/photo_{index:02d}.jpg", image_bytes(64, 48, colour), "image/jpeg"
    yield f"{prefix}images/diagram.png", image_bytes(32, 32, (90, 90, 90), "PNG"), "image/png"
    for frame in range(4):
        shade = 40 + 50 * frame
        yield (
            f"{prefix}sequences/walk/frame_{frame:04d}.jpg",
            image_bytes(32, 24, (shade, shade, 0)),
            "image/jpeg",
        )
    yield f"{prefix}videos/clip.mp4", mp4_bytes(), "video/mp4"
    yield f"{prefix}docs/report.pdf", pdf_bytes(), "application/pdf"
    yield f"{prefix}audio/tone.wav", wav_bytes(), "audio/wav"
    yield f"{prefix}text/notes.txt", b"Demo notes for Encord.\n", "text/plain"
    for index, data in enumerate(dicom_series()):
        yield f"{prefix}dicom/series1/slice_{index:03d}.dcm", data, "application/dicom"

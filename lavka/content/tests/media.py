"""Small, valid media files made in memory, so tests need no downloads."""

from __future__ import annotations

import io
import struct
import wave


def wav_bytes(seconds: float = 1.0, *, rate: int = 8000, tone: int = 0) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        sample = struct.pack("<h", tone)
        out.writeframes(sample * int(rate * seconds))
    return buffer.getvalue()


def mp3_bytes(frames: int = 200) -> bytes:
    """MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz) of silence: 26 ms each."""
    header = bytes([0xFF, 0xFB, 0x90, 0x00])
    return (header + b"\0" * (417 - len(header))) * frames


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(seconds: float = 2.5, *, salt: bytes = b"") -> bytes:
    """An ISO-BMFF file with `ftyp` and a `moov`/`mvhd` giving its duration.

    It has no tracks, so no browser can play it, but it is what a real MP4 starts with:
    detection and the duration reader handle it like one. `salt` makes distinct files.
    """
    timescale = 1000
    mvhd = _box(
        b"mvhd",
        b"\0\0\0\0"
        + struct.pack(">IIII", 0, 0, timescale, int(seconds * timescale))
        + struct.pack(">IH", 0x00010000, 0x0100)
        + b"\0" * 10
        + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
        + b"\0" * 24
        + struct.pack(">I", 2),
    )
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    extra = _box(b"free", salt) if salt else b""
    return ftyp + _box(b"moov", mvhd) + extra


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


SRT_TEXT = """1
00:00:00,000 --> 00:00:01,500
Hello there.

2
00:00:01,600 --> 00:00:02,400
<i>Second</i> line
"""

VTT_TEXT = """WEBVTT

00:00:00.000 --> 00:00:01.500
Hello there.
"""

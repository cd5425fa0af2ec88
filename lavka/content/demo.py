"""Demo data of content for `make run`: a published blog page."""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

from lavka.content import services as content
from lavka.content.models import AudioBlock, Page, StoredFile, TextBlock


def load_demo_content(context: dict[str, Any]) -> list[str]:
    """A published page with a text block and a short generated tone as audio."""
    if Page.objects.filter(slug="welcome").exists():
        return []
    page = content.create_page(
        title="Welcome to the Lavka blog",
        slug="welcome",
        summary="What a page of blocks looks like.",
        is_published=True,
    )
    text = content.save_block(
        block=TextBlock(
            title="About this page",
            body="A page holds **blocks** of video, audio and text, in the order you set "
            "in the admin. Each block counts its views.",
        )
    )
    audio = content.save_block(
        block=AudioBlock(
            title="A short tone",
            audio_file=content.store_file(
                upload=io.BytesIO(_tone_wav()), kind=StoredFile.Kind.AUDIO, name="tone.wav"
            ),
            transcript="(one second of a 440 Hz tone)",
        )
    )
    content.add_block(page=page, block=text)
    content.add_block(page=page, block=audio)
    return []


def _tone_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (
            int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))
        )
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()

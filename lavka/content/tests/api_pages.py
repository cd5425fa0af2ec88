"""Pages of real blocks for the API, counting and cache tests, made through the services."""

from __future__ import annotations

import io
import itertools
from typing import Any

from lavka.content import services
from lavka.content.models import AudioBlock, Block, Page, StoredFile, TextBlock, VideoBlock


def store_bytes(data: bytes, *, kind: str, name: str) -> StoredFile:
    """Stored and queued for processing after the commit, as an upload is."""
    return services.store_file(upload=io.BytesIO(data), kind=kind, name=name)


API = "/api/v1/pages/"

_serial = itertools.count(1)


def mp4_bytes() -> bytes:
    """A few bytes with an MP4 signature, different every call (a new stored file)."""
    return b"\x00\x00\x00\x18ftypisom" + next(_serial).to_bytes(8, "big") + bytes(48)


def png_bytes() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + next(_serial).to_bytes(8, "big") + bytes(48)


SRT = b"1\n00:00:00,000 --> 00:00:01,500\nHello\n\n2\n00:00:02,000 --> 00:00:03,000\nBye\n"


def detail_url(page: Page | int) -> str:
    return f"{API}{page if isinstance(page, int) else page.pk}/"


def make_page(
    *,
    title: str = "Lessons",
    published: bool = True,
    with_cover: bool = True,
    extra_texts: int = 0,
) -> tuple[Page, list[Block]]:
    """A page with a video (file, SRT subtitles, poster), an audio (URL, transcript), a
    text block, then `extra_texts` more text blocks, in that order."""
    cover = store_bytes(png_bytes(), kind=StoredFile.Kind.IMAGE, name="cover.png")
    page = services.create_page(
        title=title,
        summary=f"About {title}",
        cover=cover if with_cover else None,
        is_published=published,
    )
    video = services.save_block(
        block=VideoBlock(
            title="Intro video",
            video_file=store_bytes(mp4_bytes(), kind=StoredFile.Kind.VIDEO, name="intro.mp4"),
            subtitles_file=store_bytes(SRT, kind=StoredFile.Kind.SUBTITLES, name="intro.srt"),
            poster=store_bytes(png_bytes(), kind=StoredFile.Kind.IMAGE, name="poster.png"),
        )
    )
    audio = services.save_block(
        block=AudioBlock(
            title="Interview",
            audio_url="https://media.example.com/interview.mp3",
            transcript="Q: Why? A: " + "because " * 500,
        )
    )
    texts = [
        services.save_block(block=TextBlock(title=f"Notes {n}", body=f"**Step** {n}"))
        for n in range(1 + extra_texts)
    ]
    made: list[Block] = [video, audio, *texts]
    for block in made:
        services.add_block(page=page, block=block)
    return page, made


def views_of(blocks: list[Any]) -> list[int]:
    """The blocks' counters as stored now, in the order given."""
    found = dict(Block.objects.filter(pk__in=[b.pk for b in blocks]).values_list("pk", "views"))
    return [found[b.pk] for b in blocks]

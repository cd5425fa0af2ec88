"""factory_boy factories for content. Blocks use external URLs; tests that need stored
files make them with `lavka.content.tests.media` and `storage.store_upload`."""

from __future__ import annotations

import factory
from django.utils import timezone

from lavka.content import services
from lavka.content.models import AudioBlock, Page, PageBlock, TextBlock, VideoBlock


class PageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Page

    title = factory.Sequence(lambda n: f"Page {n}")
    slug = factory.Sequence(lambda n: f"page-{n}")
    summary = "A page of blocks."
    is_published = True
    published_at = factory.LazyFunction(timezone.now)


class VideoBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VideoBlock

    title = factory.Sequence(lambda n: f"Video {n}")
    video_url = factory.Sequence(lambda n: f"https://videos.example.com/{n}.mp4")


class AudioBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AudioBlock

    title = factory.Sequence(lambda n: f"Audio {n}")
    audio_url = factory.Sequence(lambda n: f"https://audio.example.com/{n}.mp3")
    transcript = "Hello and welcome."


class TextBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TextBlock

    title = factory.Sequence(lambda n: f"Text {n}")
    body = "Some *text*."
    rendered_html = factory.LazyAttribute(lambda block: services.render_markdown(block.body))


class PageBlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PageBlock

    page = factory.SubFactory(PageFactory)
    block = factory.SubFactory(TextBlockFactory)
    position = factory.Sequence(lambda n: n)

"""REST API of content: the list of published pages and a page with its blocks.

Content is public, so both endpoints allow anonymous readers. Staff also get unpublished
pages in the detail (a preview); the list shows published pages to everyone.

Responses are cached and carry weak ETags and Last-Modified (lavka/content/cache.py);
every detail response, including one served from the cache and a 304, records one view
for each block it shows (lavka/content/counting.py).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

from django.db.models import Count, IntegerField, Max, QuerySet, Sum
from django.http import HttpResponse, HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lavka.content import blocks as block_kinds
from lavka.content import cache, counting, selectors
from lavka.content.models import (
    AudioBlock,
    Block,
    Page,
    PageBlock,
    StoredFile,
    TextBlock,
    VideoBlock,
)
from lavka.core.api import query_values

# `?ordering=` values; a leading "-" reverses. Anything else is a 400 naming these.
ORDERINGS = {"published_at": "published_at", "title": "title", "views": "total_views"}


# --- serializers ------------------------------------------------------------------------


class StoredFileSerializer(serializers.ModelSerializer):
    """A stored file: where to fetch it and how far its processing got."""

    url = serializers.SerializerMethodField()

    class Meta:
        model = StoredFile
        fields = ["url", "mime_type", "size", "status", "duration_seconds"]

    @extend_schema_field(serializers.URLField())
    def get_url(self, stored: StoredFile) -> str:
        return self.context["request"].build_absolute_uri(stored.file.url)


class PlayerFileSerializer(StoredFileSerializer):
    """What a player loads: for SRT subtitles, their WebVTT conversion once it exists."""

    def to_representation(self, instance: StoredFile) -> dict[str, Any]:
        return super().to_representation(instance.player_file)


# A kind's serializer lists its own fields (docs/content-blocks.md); the API puts these,
# which every block has, in front of them.
SHARED_BLOCK_FIELDS = ["id", "kind", "title", "views", "position"]


class VideoBlockSerializer(serializers.ModelSerializer):
    """A video: a stored file or an external URL, subtitles (WebVTT for players), poster."""

    video_file = StoredFileSerializer(read_only=True, allow_null=True)
    subtitles_file = PlayerFileSerializer(read_only=True, allow_null=True)
    poster = StoredFileSerializer(read_only=True, allow_null=True)

    class Meta:
        model = VideoBlock
        fields = ["video_file", "video_url", "subtitles_file", "subtitles_url", "poster"]


class AudioBlockSerializer(serializers.ModelSerializer):
    """An audio: a stored file or an external URL, and its transcript."""

    audio_file = StoredFileSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AudioBlock
        fields = ["audio_file", "audio_url", "transcript"]


class TextBlockSerializer(serializers.ModelSerializer):
    """A text: its Markdown and the sanitised HTML made from it."""

    html = serializers.CharField(source="rendered_html", read_only=True)

    class Meta:
        model = TextBlock
        fields = ["body", "html"]


@functools.cache
def block_serializer(key: str) -> type[serializers.ModelSerializer]:
    """The kind's registered serializer with the shared fields in front; read-only."""
    registered = block_kinds.get_kind(key).serializer_class
    meta = type(
        "Meta",
        (registered.Meta,),
        {
            "fields": [*SHARED_BLOCK_FIELDS, *registered.Meta.fields],
            "read_only_fields": [*SHARED_BLOCK_FIELDS, *registered.Meta.fields],
        },
    )
    return type(
        registered.__name__,
        (registered,),
        {
            "__module__": registered.__module__,
            "__doc__": registered.__doc__,
            "position": serializers.IntegerField(
                read_only=True, help_text="Place on the page, from 0."
            ),
            "Meta": meta,
        },
    )


def _block_serializers() -> dict[str, Any]:
    return {key: block_serializer(key) for key in block_kinds.kinds()}


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="Block",
        serializers=_block_serializers,
        resource_type_field_name="kind",
        many=True,
    )
)
class BlockListField(serializers.ListField):
    """The page's blocks in order, each by its kind's registered serializer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.DictField(), read_only=True, **kwargs)

    def to_representation(self, blocks: list[Block]) -> list[dict[str, Any]]:
        return [block_serializer(block.kind)(block, context=self.context).data for block in blocks]


class PageSummarySerializer(serializers.ModelSerializer):
    """A page in the list, linking to its detail."""

    url = serializers.HyperlinkedIdentityField(view_name="api:content-page-detail")
    cover_url = serializers.SerializerMethodField()
    views = serializers.IntegerField(
        source="total_views", read_only=True, help_text="Views of all its blocks."
    )

    class Meta:
        model = Page
        fields = ["id", "url", "title", "slug", "summary", "published_at", "cover_url", "views"]
        # The API only reads pages: the model's input rules are not promises about output.
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_cover_url(self, page: Page) -> str | None:
        if page.cover is None:
            return None
        return self.context["request"].build_absolute_uri(page.cover.file.url)


class PageDetailSerializer(PageSummarySerializer):
    blocks = BlockListField(source="loaded_blocks")

    class Meta(PageSummarySerializer.Meta):
        fields = [*PageSummarySerializer.Meta.fields, "is_published", "updated_at", "blocks"]
        read_only_fields = fields


# --- helpers ----------------------------------------------------------------------------


def _with_validators(response: HttpResponseBase, found: cache.Validators) -> HttpResponseBase:
    response["ETag"] = found.etag
    response["Last-Modified"] = http_date(found.last_modified.timestamp())
    # Counters move between responses: clients and proxies must ask again every time.
    response["Cache-Control"] = "no-cache"
    return response


def _not_modified(request: Request, found: cache.Validators) -> HttpResponseBase | None:
    response = get_conditional_response(
        request._request, etag=found.etag, last_modified=int(found.last_modified.timestamp())
    )
    return None if response is None else _with_validators(response, found)


def _site_root(request: Request) -> str:
    return request.build_absolute_uri("/")


# --- views ------------------------------------------------------------------------------

NOT_FOUND = OpenApiResponse(description="No such page, or not published.")
NOT_MODIFIED = OpenApiResponse(description="Not modified (If-None-Match / If-Modified-Since).")


class PageDetailView(APIView):
    """A page and its blocks in order; counts one view for each block it shows.

    The hot path (a cached or a not-modified response) is one SELECT for the page's state
    and counters, one INSERT for the views, and a join of cached bytes with the counters.
    """

    permission_classes = [AllowAny]
    serializer_class = PageDetailSerializer

    def perform_authentication(self, request: Request) -> None:
        """Authenticate only when it matters: for an unpublished page."""

    @extend_schema(responses={200: PageDetailSerializer, 304: NOT_MODIFIED, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        state = cache.page_state(page_id=pk)
        # selectors.visible_pages's rule; request.user (authentication) only when needed.
        if state is None or not (state.is_published or selectors.sees_unpublished(request.user)):
            raise NotFound
        registered = block_kinds.kinds()
        links = [link for link in state.links if link.kind in registered]
        found = cache.validators(
            "page",
            [
                _site_root(request),
                pk,
                state.updated_at,
                state.revision,
                [(link.block_id, link.position, link.updated_at) for link in links],
            ],
            last_modified=state.last_modified(),
        )
        counting.record_page_view(page_id=pk, block_ids=[link.block_id for link in links])

        not_modified = _not_modified(request, found)
        if not_modified is not None:
            return not_modified
        template = cache.get(found)
        if template is None:
            template = self._render(request, pk, links)
            cache.put(found, template)
        body = template.fill({link.block_id: link.views for link in links})
        return _with_validators(HttpResponse(body, content_type="application/json"), found)

    def _render(self, request: Request, pk: int, links: list[cache.Link]) -> cache.BodyTemplate:
        page = Page.objects.select_related("cover").get(pk=pk)
        by_kind: dict[str, list[int]] = defaultdict(list)
        for link in links:
            by_kind[link.kind].append(link.block_id)
        loaded = block_kinds.load_blocks(by_kind)
        page.loaded_blocks = []  # type: ignore[attr-defined]
        for link in links:
            block = loaded.get(link.block_id)
            if block is not None:
                block.position = link.position  # type: ignore[attr-defined]
                page.loaded_blocks.append(block)  # type: ignore[attr-defined]
        page.total_views = 0  # type: ignore[attr-defined]  # a slot filled per response
        data = PageDetailSerializer(page, context={"request": request}).data
        return cache.BodyTemplate.render(data, JSONRenderer().render)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "search",
            OpenApiTypes.STR,
            description="Pages whose title starts with this (case-insensitive).",
        ),
        OpenApiParameter(
            "ordering",
            OpenApiTypes.STR,
            enum=[*ORDERINGS, *(f"-{name}" for name in ORDERINGS)],
            description="Sort by one field; a leading '-' reverses. Default: newest first. "
            "Any other value is a 400.",
        ),
    ],
    responses={200: PageSummarySerializer(many=True), 304: NOT_MODIFIED},
)
class PageListView(ListAPIView):
    """Published pages, newest first, each linking to its detail; paginated."""

    permission_classes = [AllowAny]
    serializer_class = PageSummarySerializer

    def ordering(self) -> list[str]:
        value = query_values(self.request).get("ordering")
        if value is None:
            return list(selectors.NEWEST_FIRST)
        name = value.removeprefix("-")
        if name not in ORDERINGS:
            raise ValidationError(
                {
                    "ordering": [
                        _("Unknown ordering %(value)s; use one of: %(choices)s.")
                        % {
                            "value": value,
                            "choices": ", ".join([*ORDERINGS, *(f"-{n}" for n in ORDERINGS)]),
                        }
                    ]
                }
            )
        field = ORDERINGS[name]
        return [f"-{field}" if value.startswith("-") else field, "-id"]

    def get_queryset(self) -> QuerySet[Page]:
        search = query_values(self.request).get("search", "").strip()
        if "\x00" in search:  # no title holds NUL (PostgreSQL refuses it in a query)
            return Page.objects.none()
        return selectors.published_pages(search=search, ordering=self.ordering())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        ordering = self.ordering()
        if ORDERINGS["views"] in {name.lstrip("-") for name in ordering}:
            # The order itself follows the counters, so it cannot come from a cache.
            return super().list(request, *args, **kwargs)
        # Over all pages: publishing, unpublishing, editing or deleting one changes it.
        state = Page.objects.aggregate(updated=Max("updated_at"), count=Count("id"))
        revision, revised_at = cache.current_revision()
        found = cache.validators(
            "pages",
            [
                _site_root(request),
                # Only what shapes the list: other parameters cannot multiply the entries.
                # An empty value is not an absent one: `?page=` must reach the paginator.
                [request.query_params.get(name) for name in ("page", "search", "ordering")],
                state["updated"],
                state["count"],
                revision,
            ],
            last_modified=max(state["updated"] or cache.EPOCH, revised_at),
        )
        not_modified = _not_modified(request, found)
        if not_modified is not None:
            return not_modified
        data = cache.get(found)
        if data is None:
            data = super().list(request, *args, **kwargs).data
            cache.put(found, data)
        else:
            ids = [item["id"] for item in data["results"]]
            totals = dict(
                PageBlock.objects.filter(page_id__in=ids)
                .values("page_id")
                .annotate(total=Sum("block__views", output_field=IntegerField()))
                .values_list("page_id", "total")
            )
            for item in data["results"]:
                item["views"] = totals.get(item["id"], 0)
        return _with_validators(Response(data), found)

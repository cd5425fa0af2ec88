"""Site pages of the content app: a page of blocks, and the blog of published pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from lavka.content import blocks, counting, selectors

BLOG_PAGES_PER_PAGE = 10


def page_detail(request: HttpRequest, slug: str) -> HttpResponse:
    page = get_object_or_404(
        selectors.visible_pages(user=request.user).select_related("cover"), slug=slug
    )
    page_blocks = blocks.blocks_for_page(page)
    counting.record_page_view(page_id=page.pk, block_ids=[block.pk for block in page_blocks])
    items = [(block, blocks.kind_of(block).template) for block in page_blocks]
    return render(request, "content/page_detail.html", {"page": page, "items": items})


def blog(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.published_pages(), BLOG_PAGES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "content/blog.html", {"page": page})

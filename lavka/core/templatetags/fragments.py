"""`{% once_per value … %}…{% endonce_per %}`: a part of a template rendered once per
combination of values and kept with the compiled template.

For the parts of every page that many visitors see alike — the site header's menu
links, login links, language buttons, the footer — whose URL reversals, translations
and loops cost more than a page's own content when that comes from the cache. The active
language, the URL script prefix and the URLconf always count; anything else the part
shows must be named, and nothing of one visitor (a CSRF token, a name, the cart) may
appear inside, nor a `{% block %}` (a child template's block would be kept for every
other page); a variable set inside (`{% … as name %}`) is set on the first render only.
The kept copies live and die with the compiled template (the cached
loader keeps it for the process; a changed template file is compiled anew).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django import template
from django.conf import settings
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

# Combinations kept per part; past this the part starts afresh (a guard, not a cache
# policy: the combinations are languages times menus, a handful in practice).
MAX_KEPT = 256


def _hashable(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_hashable(item) for item in value)
    return value  # type: ignore[no-any-return]


class OncePerNode(template.Node):
    # Hidden from node searches: `{% extends %}` looks for blocks in the parent's whole
    # tree on every render, and there are none in here.
    child_nodelists = ()

    def __init__(self, nodelist: NodeList, values: list[FilterExpression]) -> None:
        self.nodelist = nodelist
        self.values = values
        self.kept: dict[Hashable, SafeString] = {}

    def render(self, context: template.Context) -> str:
        key = (
            get_language(),
            get_script_prefix(),
            get_urlconf() or settings.ROOT_URLCONF,
            *(_hashable(value.resolve(context)) for value in self.values),
        )
        html = self.kept.get(key)
        if html is None:
            html = mark_safe(self.nodelist.render(context))  # noqa: S308 (rendered above, escaped)
            if len(self.kept) >= MAX_KEPT:
                self.kept.clear()
            self.kept[key] = html
        return html


@register.tag
def once_per(parser: Parser, token: Token) -> OncePerNode:
    """`{% once_per nav_entries %}` … `{% endonce_per %}`; no value: once per language."""
    values = [parser.compile_filter(bit) for bit in token.split_contents()[1:]]
    nodelist = parser.parse(("endonce_per",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError("{% once_per %} cannot hold a {% block %}")
    return OncePerNode(nodelist, values)

from django.db import models
from django.utils.translation import gettext_lazy as _

from lavka.content.models import Block


class QuoteBlock(Block):
    kind_key = "quote"

    text = models.TextField(_("quote"))
    author = models.CharField(_("author"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("quote block")
        verbose_name_plural = _("quote blocks")

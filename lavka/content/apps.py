from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    name = "lavka.content"
    label = "content"
    verbose_name = _("Content")

    def ready(self) -> None:
        from lavka.content import blocks

        blocks.load_registry()

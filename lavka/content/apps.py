from django.utils.translation import gettext_lazy as _

from lavka.core.registry import LavkaApp, NavEntry


class ContentConfig(LavkaApp):
    name = "lavka.content"
    label = "content"
    verbose_name = _("Content")

    navigation = [NavEntry(_("Blog"), "content:blog", order=10, test_id="nav-blog", anonymous=True)]
    demo_data = "lavka.content.demo.load_demo_content"

    def ready(self) -> None:
        from lavka.content import blocks

        blocks.load_registry()

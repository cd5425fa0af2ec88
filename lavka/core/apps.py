from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "lavka.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from lavka.core import request_id

        request_id.install()

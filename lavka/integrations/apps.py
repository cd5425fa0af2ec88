from django.utils.translation import gettext_lazy as _

from lavka.core.registry import LavkaApp


class IntegrationsConfig(LavkaApp):
    name = "lavka.integrations"
    label = "integrations"
    verbose_name = _("Bookkeeping")

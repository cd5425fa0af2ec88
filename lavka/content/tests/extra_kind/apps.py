from django.apps import AppConfig


class ExtraKindConfig(AppConfig):
    name = "lavka.content.tests.extra_kind"
    label = "content_extra_kind"
    verbose_name = "Content test kinds"

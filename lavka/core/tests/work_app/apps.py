from lavka.core.registry import LavkaApp


class WorkAppConfig(LavkaApp):
    """Declares nothing; tests set its declarations to check how core merges them."""

    name = "lavka.core.tests.work_app"
    label = "core_tests"
    verbose_name = "Core kernel tests"

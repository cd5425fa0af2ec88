from lavka.core.registry import LavkaApp


class WorkAppConfig(LavkaApp):
    """Declares nothing; tests set its declarations to check how core merges them. It
    registers a prepared-file producer for the kernel's tests (worker processes too)."""

    name = "lavka.core.tests.work_app"
    label = "core_tests"
    verbose_name = "Core kernel tests"

    def ready(self) -> None:
        from lavka.core.tests.work_app.producers import register_producers

        register_producers()

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self):
        from core import throttling  # noqa: F401  (registers the rate settings' system check)

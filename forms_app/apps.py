from __future__ import annotations

from django.apps import AppConfig


class FormsAppConfig(AppConfig):
    name = "forms_app"
    verbose_name = "Gates and forms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks in every process (web too), so services can enqueue them by
        # name without importing the tasks module (which imports the services).
        from forms_app import tasks  # noqa: F401

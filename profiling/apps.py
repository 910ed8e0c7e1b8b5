from __future__ import annotations

from django.apps import AppConfig


class ProfilingConfig(AppConfig):
    name = "profiling"
    verbose_name = "Profiling, scoring and CRM push"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks in every process (web too), so services can enqueue them
        # by name without importing the tasks module (which imports the services).
        from profiling import tasks  # noqa: F401

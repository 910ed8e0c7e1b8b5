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
        from profiling.caches import invalidation_connect

        # Here rather than on import: connected once per process, whichever module loads
        # first, and before the first request.
        invalidation_connect()

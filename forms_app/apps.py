from __future__ import annotations

from django.apps import AppConfig


class FormsAppConfig(AppConfig):
    name = "forms_app"
    verbose_name = "Gates and forms"
    default_auto_field = "django.db.models.BigAutoField"

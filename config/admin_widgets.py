"""Admin form tweaks shared by both apps (kept here so profiling never imports forms_app)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

# Django 6 makes "https" the default scheme for bare URLs; opt in now, quietly.
URL_OVERRIDES: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}

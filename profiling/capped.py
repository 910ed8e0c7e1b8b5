"""Tables that keep only their newest rows (the sandbox inboxes): plumbing."""

from __future__ import annotations

from typing import Any

from django.db import models


def keep_newest(model: type[models.Model], kept: int) -> None:
    """Delete every row of `model` but the `kept` with the highest ids. Ids grow with
    arrival, so those are the newest, and the primary-key index answers this without a
    sort. Call it in the transaction that inserted, so the cap holds at every commit."""
    manager: Any = model._default_manager
    oldest_kept = manager.order_by("-id").values_list("id", flat=True)[kept - 1 : kept].first()
    if oldest_kept is not None:
        manager.filter(id__lt=oldest_kept).delete()

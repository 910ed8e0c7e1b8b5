"""Shared helpers for the workspace views: rendering, errors from services, date ranges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from config.roles import can_edit


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    section: str = "",
    status: int = 200,
) -> HttpResponse:
    """Render a workspace page; every page knows whether to show edit controls."""
    ctx = {"can_edit": can_edit(request.user), "nav": section, **(context or {})}
    return render(request, f"workspace/{template}", ctx, status=status)


def validation_messages(exc: ValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as {key: [messages]} ("__all__" for unkeyed ones)."""
    if hasattr(exc, "error_dict"):
        return {
            key: [str(m) for e in errs for m in e.messages] for key, errs in exc.error_dict.items()
        }
    return {"__all__": [str(m) for m in exc.messages]}


def add_errors(
    form: forms.Form, errors: Mapping[str, list[str]], aliases: Mapping[str, str] | None = None
) -> None:
    """Show a service's errors inline on the form's fields (else at its top)."""
    for key, messages in errors.items():
        field = (aliases or {}).get(key, key)
        target = field if field in form.fields else None
        for message in messages:
            if target is None and key not in ("__all__",):
                form.add_error(None, f"{key}: {message}")
            else:
                form.add_error(target, message)


# --- date ranges -----------------------------------------------------------------------

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        """Exclusive upper bound: the start of the day after `end`."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class RangeForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError("The start date must not be after the end date.")
        if start and end and (end - start).days > MAX_DAYS:
            raise ValidationError("Choose a range of at most three years.")
        return data


def date_range(form: RangeForm) -> DateRange:
    """The form's range, defaulting to the last 30 days (today included)."""
    today = timezone.localdate()
    data = form.cleaned_data if form.is_valid() else {}
    end = data.get("end") or today
    start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
    return DateRange(start=start, end=end)

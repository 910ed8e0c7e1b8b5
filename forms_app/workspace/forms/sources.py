"""Where leads come from: a Segment-compatible source (and the gates it may feed), and
what a campaign cost (the dashboard's cost per lead under Return on spend)."""

from __future__ import annotations

from typing import Any

from django import forms


class SourceForm(forms.Form):
    name = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "Website (analytics.js)"})
    )
    gates = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only for these gates (none ticked: all gates)",
    )

    def __init__(self, *args: Any, gates: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["gates"].choices = gates  # type: ignore[attr-defined]


class CostForm(forms.Form):
    utm_source = forms.CharField(
        max_length=200,
        label="utm_source",
        widget=forms.TextInput(attrs={"placeholder": "linkedin"}),
    )
    utm_campaign = forms.CharField(
        max_length=200, required=False, label="utm_campaign (blank: whole source)"
    )
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="From")
    period_end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="To")
    amount = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2)
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        initial="EUR",
        max_length=3,
        error_messages={"invalid": "A three-letter currency code, e.g. EUR."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and start > end:
            self.add_error("period_end", "The period must end on or after its start.")
        return data

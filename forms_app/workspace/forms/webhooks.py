"""The webhook form: where the workspace pushes leads, and which grades it pushes."""

from __future__ import annotations

from django import forms

from profiling.models import Grade

GRADE_CHOICES = [(g.value, g.label) for g in Grade]


class WebhookForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "HubSpot: hot leads"}),
        help_text="How the webhook is listed. Blank: by the URL's host.",
    )
    url = forms.URLField(
        max_length=1000,
        assume_scheme="https",
        label="CRM URL",
        widget=forms.URLInput(attrs={"placeholder": "https://crm.example.com/hooks/leadgate"}),
    )
    grades = forms.MultipleChoiceField(
        choices=GRADE_CHOICES,
        initial=["hot"],
        widget=forms.CheckboxSelectMultiple,
        label="Push leads that become",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

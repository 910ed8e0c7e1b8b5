"""The admin's names and permissions: every registered model reads well, and records of
what happened (behaviour, scoring, delivery, consent) are shown, never made or edited by
hand; a person leaves only through erasure."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client

from profiling.models import Event, GradeChange, Lead
from tests.support.factories import make_event, make_gate, make_lead, make_visitor, random_slug

pytestmark = pytest.mark.django_db

RECORDS = (
    "forms_app/submission",
    "profiling/delivery",
    "profiling/event",
    "profiling/gradechange",
    "profiling/lead",
    "profiling/sandboxmessage",
    "profiling/scorepending",
    "profiling/visitor",
)


@pytest.fixture
def admin_client(client: Client) -> Client:
    user = get_user_model().objects.create_superuser(
        username=f"a-{random_slug()}", email="a@example.com", password="pw-not-used-123"
    )
    client.force_login(user)
    return client


def test_every_registered_model_has_a_readable_plural() -> None:
    plurals = {
        f"{m._meta.app_label}.{m._meta.model_name}": str(m._meta.verbose_name_plural)
        for m in admin.site._registry
    }
    assert plurals["profiling.delivery"] == "deliveries"
    assert plurals["profiling.scorepending"] == "score pending marks"
    assert plurals["profiling.scoringsettings"] == "scoring settings"
    for label, plural in plurals.items():
        # Django's default appends "s": no "ys", "ss" or "gss" endings on our models.
        assert not plural.endswith(("ys", "sss", "ingss")), (label, plural)


def test_the_index_reads_well_and_has_no_add_link_for_records(admin_client: Client) -> None:
    html = admin_client.get("/admin/").content.decode()
    assert "Deliveries" in html
    assert "Deliverys" not in html
    assert "Score pending marks" in html
    assert "Score pendings" not in html
    assert "leadgate administration" in html
    for model in RECORDS:
        assert f'href="/admin/{model}/add/"' not in html, model
    # Configuration stays editable.
    assert 'href="/admin/profiling/scoringrule/add/"' in html


@pytest.mark.parametrize("model", RECORDS)
def test_records_cannot_be_added_edited_or_deleted(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/{model}/add/").status_code == 403
    changelist = admin_client.get(f"/admin/{model}/").content.decode()
    assert f'href="/admin/{model}/add/"' not in changelist


def test_an_event_page_is_view_only(admin_client: Client) -> None:
    gate = make_gate()
    event = make_event(visitor=make_visitor(), gate=gate, type="page_view")
    url = f"/admin/profiling/event/{event.pk}/change/"
    html = admin_client.get(url).content.decode()
    assert 'name="_save"' not in html
    before = Event.objects.get(pk=event.pk).type
    response = admin_client.post(url, {"type": "download"})
    assert response.status_code == 403
    assert Event.objects.get(pk=event.pk).type == before
    assert (
        admin_client.post(f"/admin/profiling/event/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Event.objects.filter(pk=event.pk).exists()


def test_a_lead_leaves_only_through_erasure(admin_client: Client) -> None:
    lead = make_lead(email="erase-me@example.com")
    GradeChange.objects.create(lead=lead, previous_grade="cold", grade="warm", score=40)
    changelist = "/admin/profiling/lead/"
    # Django's bulk delete is not offered: it would cascade through the history.
    assert "delete_selected" not in admin_client.get(changelist).content.decode()
    response = admin_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [lead.pk], "post": "yes"}
    )
    assert Lead.objects.filter(pk=lead.pk, erased_at__isnull=True).exists(), response.status_code
    admin_client.post(changelist, {"action": "erase_selected", "_selected_action": [lead.pk]})
    lead.refresh_from_db()
    assert lead.erased_at is not None
    assert lead.email.endswith("@erased.invalid")
    # The tombstone and its anonymous history stay.
    assert GradeChange.objects.filter(lead=lead).exists()

"""The lead page's rights actions: unsubscribe, do-not-contact, export, erase (with a
confirmation page). Marketers only: a sales user sees no button and is refused."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from profiling.models import Consent, ConsentMethod, Lead
from tests.support.factories import make_lead, make_visitor

pytestmark = pytest.mark.django_db


def _lead() -> Lead:
    lead = make_lead(name="Ada Lovelace", subscribed=True, referrer="https://news.example.org/")
    make_visitor(lead=lead)
    Consent.objects.create(
        lead=lead,
        text="Send me news about fibre.",
        given_at=timezone.now() - timedelta(days=3),
        method=ConsentMethod.FORM,
    )
    return lead


def test_the_marketer_sees_the_actions_and_the_consent_record(mclient: Client) -> None:
    lead = _lead()
    html = mclient.get(f"/app/leads/{lead.id}/").content.decode()
    for text in ('id="lead-actions"', "Unsubscribe", "Do not contact", "Export data", "Erase"):
        assert text in html, text
    assert "Send me news about fibre." in html
    assert "Form opt-in" in html


def test_sales_sees_no_action_and_is_refused(sclient: Client) -> None:
    lead = _lead()
    html = sclient.get(f"/app/leads/{lead.id}/").content.decode()
    assert 'id="lead-actions"' not in html
    assert "Erase" not in html
    before = list(Lead.objects.values())
    assert (
        sclient.post(f"/app/leads/{lead.id}/contact", {"action": "unsubscribe"}).status_code == 403
    )
    assert sclient.get(f"/app/leads/{lead.id}/export.json").status_code == 403
    assert sclient.get(f"/app/leads/{lead.id}/erase").status_code == 403
    assert sclient.post(f"/app/leads/{lead.id}/erase", {"confirm": "erase"}).status_code == 403
    assert list(Lead.objects.values()) == before


def test_unsubscribe_and_do_not_contact_from_the_lead_page(mclient: Client) -> None:
    lead = _lead()
    url = f"/app/leads/{lead.id}/contact"
    response = mclient.post(url, {"action": "unsubscribe"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/app/leads/{lead.id}/"
    assert "Unsubscribed" in response.content.decode()
    lead.refresh_from_db()
    assert lead.subscribed is False
    assert not Consent.objects.filter(withdrawn_at__isnull=True).exists()

    mclient.post(url, {"action": "do-not-contact"})
    assert Lead.objects.get(pk=lead.pk).do_not_contact is True
    page = mclient.get(f"/app/leads/{lead.id}/").content.decode()
    assert "Clear do not contact" in page
    mclient.post(url, {"action": "may-contact"})
    lead.refresh_from_db()
    assert (lead.do_not_contact, lead.subscribed) == (False, False)

    response = mclient.post(url, {"action": "subscribe"}, follow=True)
    assert "Unknown action." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).subscribed is False


def test_export_downloads_the_persons_json(mclient: Client) -> None:
    lead = _lead()
    response: Any = mclient.get(f"/app/leads/{lead.id}/export.json")  # streamed
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="leadgate-lead-{lead.id}.json"'
    doc = json.loads(b"".join(response.streaming_content))
    assert doc["lead"]["email"] == lead.email
    assert [c["text"] for c in doc["consents"]] == ["Send me news about fibre."]


def test_erase_asks_for_confirmation_first(mclient: Client) -> None:
    lead = _lead()
    confirm = mclient.get(f"/app/leads/{lead.id}/erase")
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    assert Lead.objects.get(pk=lead.pk).erased_at is None

    unconfirmed = mclient.post(f"/app/leads/{lead.id}/erase", {})
    assert unconfirmed.status_code == 400
    assert Lead.objects.get(pk=lead.pk).erased_at is None

    response = mclient.post(f"/app/leads/{lead.id}/erase", {"confirm": "erase"}, follow=True)
    assert response.redirect_chain[-1][0] == "/app/leads/"
    assert "The person was erased" in response.content.decode()
    erased = Lead.objects.get(pk=lead.pk)
    assert (erased.erased_at is not None, erased.name, erased.referrer) == (True, "", "")
    assert mclient.get(f"/app/leads/{lead.id}/").status_code == 404
    assert mclient.get(f"/app/leads/{lead.id}/erase").status_code == 404


def test_the_marketer_merges_a_lead_into_another_by_its_address(mclient: Client) -> None:
    stays = make_lead(name="Ada Lovelace", email="ada@fibre.example")
    joins = make_lead(name="Ada L.", email="ada.private@mail.example")
    visitor = make_visitor(lead=joins)
    form = mclient.get(f"/app/leads/{joins.id}/merge").content.decode()
    assert "ada.private@mail.example" in form
    assert 'name="into"' in form
    response = mclient.post(f"/app/leads/{joins.id}/merge", {"into": "ADA@fibre.example "})
    assert response.status_code == 302
    assert response["Location"] == f"/app/leads/{stays.id}/"
    joins.refresh_from_db()
    visitor.refresh_from_db()
    assert joins.merged_into_id == stays.id
    assert visitor.lead_id == stays.id
    # The old address still finds the person: its page is the person's page.
    assert "Ada Lovelace" in mclient.get(f"/app/leads/{joins.id}/").content.decode()


def test_a_merge_needs_a_known_other_address(mclient: Client) -> None:
    lead = make_lead(email="one@fibre.example")
    unknown = mclient.post(f"/app/leads/{lead.id}/merge", {"into": "nobody@fibre.example"})
    assert unknown.status_code == 400
    assert "No lead has this email address." in unknown.content.decode()
    itself = mclient.post(f"/app/leads/{lead.id}/merge", {"into": "one@fibre.example"})
    assert itself.status_code == 400
    assert "already this person" in itself.content.decode()
    bad = mclient.post(f"/app/leads/{lead.id}/merge", {"into": "not an address"})
    assert bad.status_code == 400
    lead.refresh_from_db()
    assert lead.merged_into_id is None


def test_sales_cannot_merge(sclient: Client) -> None:
    one = make_lead(email="one@fibre.example")
    two = make_lead(email="two@fibre.example")
    assert sclient.get(f"/app/leads/{one.id}/merge").status_code == 403
    assert sclient.post(f"/app/leads/{one.id}/merge", {"into": two.email}).status_code == 403
    one.refresh_from_db()
    assert one.merged_into_id is None
    assert "Merge…" not in sclient.get(f"/app/leads/{one.id}/").content.decode()

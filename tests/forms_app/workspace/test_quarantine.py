"""The quarantine page (/app/quarantine/) and the dashboard's count: marketers see what
the spam guards held back and release or delete it; no one else can."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from forms_app.models import QuarantinedSubmission, QuarantineReason, QuarantineVia, Submission
from forms_app.services.quarantine import quarantine_hold
from forms_app.services.submissions import SubmissionInput
from profiling.models import Lead
from tests.support.factories import make_gate, random_email

pytestmark = pytest.mark.django_db


def _held(gate: Any = None, **kw: Any) -> QuarantinedSubmission:
    kw.setdefault("name", "Auto Filled")
    kw.setdefault("email", random_email())
    item = quarantine_hold(
        gate=gate or make_gate(),
        data=SubmissionInput(**kw),
        reason=QuarantineReason.TOO_FAST,
        via=QuarantineVia.FORM,
    )
    assert item is not None
    return item


def test_anonymous_goes_to_login(client: Client) -> None:
    item = _held()
    response = client.get("/app/quarantine/")
    assert response.status_code == 302
    assert response["Location"].startswith("/app/login/?next=")
    for action in ("release", "delete"):
        assert client.post(f"/app/quarantine/{item.pk}/{action}").status_code == 302
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()
    assert not Lead.objects.exists()


def test_sales_and_no_role_users_are_refused(sclient: Client, no_role_user: Any) -> None:
    item = _held(email="held@example-fibre.com")
    other = Client()
    other.force_login(no_role_user)
    for client in (sclient, other):
        page = client.get("/app/quarantine/")
        assert page.status_code == 403
        assert "held@example-fibre.com" not in page.content.decode()
        assert client.post(f"/app/quarantine/{item.pk}/release").status_code == 403
        assert client.post(f"/app/quarantine/{item.pk}/delete").status_code == 403
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()
    assert not Lead.objects.exists()
    # Sales does not even get the link.
    assert "/app/quarantine/" not in sclient.get("/app/").content.decode()


def test_marketer_sees_the_held_submissions(mclient: Client) -> None:
    gate = make_gate(title="Network vBook")
    _held(gate, name="Ada Autofill", email="ada@example-fibre.com", subscribe=True)
    _held(make_gate(), name="Other Gate", email="other@example-fibre.com")
    html = mclient.get("/app/quarantine/").content.decode()
    assert "ada@example-fibre.com" in html
    assert "other@example-fibre.com" in html
    assert "Network vBook" in html
    assert "Sent too fast" in html
    assert re.search(r'data-testid="quarantine-total">2<', html)
    # Per-row actions are CSRF-protected POST forms.
    assert html.count('name="csrfmiddlewaretoken"') >= 4
    filtered = mclient.get(f"/app/quarantine/?gate={gate.slug}").content.decode()
    assert "ada@example-fibre.com" in filtered
    assert "other@example-fibre.com" not in filtered
    assert "/app/quarantine/" in mclient.get("/app/").content.decode()


def test_release_makes_the_lead_once(mclient: Client) -> None:
    item = _held(email="ada@example-fibre.com")
    response = mclient.post(f"/app/quarantine/{item.pk}/release", {"reason": "too_fast"})
    assert response.status_code == 302
    assert response["Location"] == "/app/quarantine/?reason=too_fast"
    lead = Lead.objects.get(email="ada@example-fibre.com")
    assert Submission.objects.filter(lead=lead).count() == 1
    assert not QuarantinedSubmission.objects.exists()
    assert "now a lead" in mclient.get(response["Location"]).content.decode()
    # The double click: nothing twice.
    again = mclient.post(f"/app/quarantine/{item.pk}/release")
    assert again.status_code == 302
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 1
    assert "already released or deleted" in mclient.get(again["Location"]).content.decode()


def test_delete_removes_it_without_a_lead(mclient: Client) -> None:
    item = _held()
    kept = _held()
    assert mclient.post(f"/app/quarantine/{item.pk}/delete").status_code == 302
    assert mclient.post(f"/app/quarantine/{item.pk}/delete").status_code == 302
    assert list(QuarantinedSubmission.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Lead.objects.exists()


def test_release_of_a_gate_now_open_content_says_why(mclient: Client) -> None:
    gate = make_gate()
    item = _held(gate)
    gate.stage = "epiphany"
    gate.save()
    response = mclient.post(f"/app/quarantine/{item.pk}/release", follow=True)
    assert "open content now" in response.content.decode()
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()


def test_actions_need_post_and_the_csrf_token(marketer_user: Any) -> None:
    item = _held()
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer_user)
    assert client.get(f"/app/quarantine/{item.pk}/release").status_code == 405
    assert client.post(f"/app/quarantine/{item.pk}/release").status_code == 403
    assert client.post(f"/app/quarantine/{item.pk}/delete").status_code == 403
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()
    assert not Lead.objects.exists()


@pytest.mark.parametrize("pk", ["0", "99999999999999999999"])
def test_unknown_ids_change_nothing(mclient: Client, pk: str) -> None:
    item = _held()
    assert mclient.post(f"/app/quarantine/{pk}/release").status_code == 302
    assert mclient.post(f"/app/quarantine/{pk}/delete").status_code == 302
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()


def test_the_dashboard_shows_the_count_to_marketers(mclient: Client, sclient: Client) -> None:
    gate = make_gate()
    _held(gate)
    _held(gate)
    _held()
    html = mclient.get("/app/").content.decode()
    assert re.search(r'data-testid="quarantine-held">3<', html)
    per_gate = mclient.get(f"/app/?gate={gate.slug}").content.decode()
    assert re.search(r'data-testid="quarantine-held">2<', per_gate)
    assert 'data-testid="quarantine-held"' not in sclient.get("/app/").content.decode()


def test_the_dashboard_counts_honeypot_hits(mclient: Client, api: Client) -> None:
    import json

    gate = make_gate()
    for _ in range(2):
        response = api.post(
            f"/api/v1/public/gates/{gate.slug}/submissions",
            data=json.dumps({"name": "Bot", "email": random_email(), "website": "x"}),
            content_type="application/json",
        )
        assert response.status_code == 201
    html = mclient.get("/app/").content.decode()
    assert re.search(r'data-testid="honeypot-hits">2<', html)
    assert re.search(
        r'data-testid="honeypot-total">2<', mclient.get("/app/quarantine/").content.decode()
    )

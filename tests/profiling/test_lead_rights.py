"""A person's rights through the marketer API: unsubscribe and do-not-contact (PATCH), a
full export, and an erasure that leaves no personal data anywhere in the database."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.utils import timezone

from forms_app.models import QuarantinedSubmission, QuarantineReason, QuarantineVia, Submission
from profiling.models import (
    Consent,
    ConsentMethod,
    Delivery,
    DeliveryStatus,
    EmailKind,
    Event,
    GradeChange,
    Lead,
    OutboundEmail,
    SandboxEmail,
    SandboxMessage,
    Visitor,
)
from profiling.services.delivery import deliveries_create_for_change
from profiling.services.identity import leads_merge
from profiling.services.mail import email_attempt, email_queue, unsubscribe_token_make
from tests.support.api import assert_error
from tests.support.crm import CrmReceiver
from tests.support.factories import (
    add_role,
    make_endpoint,
    make_event,
    make_gate,
    make_lead,
    make_rule,
    make_user,
    make_visitor,
    set_thresholds,
)

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/leads/"
BASE = "https://leadgate.example-fibre.com"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.LEADGATE_WEBHOOK_ALLOW_PRIVATE = True
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 1000
    settings.LEADGATE_SUBMIT_LIMIT_PER_GATE = 1000
    settings.LEADGATE_BASE_URL = BASE
    settings.EMAIL_BACKEND = "profiling.mail_backend.SandboxEmailBackend"


def send(api: Client, method: str, url: str, body: Any = None, auth: dict | None = None) -> Any:
    if body is None:
        return getattr(api, method)(url, headers=auth)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(api, method)(url, data=data, content_type="application/json", headers=auth)


def _consent(lead: Lead, *, days_ago: int = 1, gate: Any = None) -> Consent:
    return Consent.objects.create(
        lead=lead,
        text="Send me news about fibre for business.",
        given_at=timezone.now() - timedelta(days=days_ago),
        method=ConsentMethod.FORM,
        gate=gate,
    )


def _sales_header() -> dict[str, str]:
    from rest_framework.authtoken.models import Token

    user = add_role(make_user(is_staff=False), "sales")
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


# ================================ unsubscribe and do-not-contact ==========================


def test_unsubscribe_withdraws_the_consents_in_force(api: Client, auth: dict) -> None:
    lead = make_lead(subscribed=True, consent_text="news", consented_at=timezone.now())
    old = _consent(lead, days_ago=30)
    Consent.objects.filter(pk=old.pk).update(withdrawn_at=timezone.now() - timedelta(days=20))
    current = _consent(lead)

    response = send(api, "patch", f"{LEADS}{lead.id}", {"subscribed": False}, auth)
    assert response.status_code == 200, response.content
    assert response.json()["subscribed"] is False
    assert response.json()["do_not_contact"] is False
    lead.refresh_from_db()
    assert lead.subscribed is False
    withdrawn = Consent.objects.get(pk=current.pk).withdrawn_at
    assert withdrawn is not None
    # an opt-in that had already ended keeps its own end
    earlier = Consent.objects.get(pk=old.pk).withdrawn_at
    assert earlier is not None
    assert earlier < withdrawn

    # idempotent: the withdrawal time stays the first one
    assert send(api, "patch", f"{LEADS}{lead.id}", {"subscribed": False}, auth).status_code == 200
    assert Consent.objects.get(pk=current.pk).withdrawn_at == withdrawn


def test_subscribing_through_the_api_is_refused(api: Client, auth: dict) -> None:
    lead = make_lead(subscribed=False)
    before = list(Lead.objects.values())
    errors = assert_error(
        send(api, "patch", f"{LEADS}{lead.id}", {"subscribed": True}, auth), 400, "subscribed"
    )
    assert "opt-in" in errors["subscribed"][0]
    assert list(Lead.objects.values()) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Changed"}, "name"),
        ({"do_not_contact": True, "email": "x@acme.io"}, "email"),
        ({}, "__all__"),
        ({"do_not_contact": "perhaps"}, "do_not_contact"),
        ([{"do_not_contact": True}], "__all__"),
        ("not json", "__all__"),
    ],
)
def test_patch_takes_only_the_two_fields(api: Client, auth: dict, body: Any, field: str) -> None:
    lead = make_lead(subscribed=True)
    before = list(Lead.objects.values())
    assert_error(send(api, "patch", f"{LEADS}{lead.id}", body, auth), 400, field)
    assert list(Lead.objects.values()) == before


def test_do_not_contact_stops_email_and_pushes_and_clearing_does_not_resubscribe(
    api: Client, auth: dict
) -> None:
    lead = make_lead(subscribed=True)
    consent = _consent(lead)
    queued = email_queue(
        kind=EmailKind.CONTENT_LINK, to=lead.email, subject="Your guide", text="x", lead_id=lead.id
    )

    response = send(api, "patch", f"{LEADS}{lead.id}", {"do_not_contact": True}, auth)
    assert response.status_code == 200, response.content
    assert (response.json()["do_not_contact"], response.json()["subscribed"]) == (True, False)
    assert Consent.objects.get(pk=consent.pk).withdrawn_at is not None
    # an email queued before is skipped at send time, even one the person asked for
    assert email_attempt(email_id=queued.pk) == "skipped"
    assert SandboxEmail.objects.count() == 0
    # and no grade change is pushed to the CRM
    make_endpoint(url="https://93.184.216.34/hook", grades=["hot"])
    change = GradeChange.objects.create(lead=lead, previous_grade="warm", grade="hot", score=90)
    assert deliveries_create_for_change(change=change, lead=Lead.objects.get(pk=lead.pk)) == []

    response = send(api, "patch", f"{LEADS}{lead.id}", {"do_not_contact": False}, auth)
    assert response.status_code == 200
    assert (response.json()["do_not_contact"], response.json()["subscribed"]) == (False, False)


def test_patch_through_a_merged_id_acts_on_the_person(api: Client, auth: dict) -> None:
    older = make_lead(subscribed=True)
    younger = make_lead(subscribed=True)
    for lead in (older, younger):
        make_visitor(lead=lead)
        _consent(lead)
    leads_merge(lead_ids=[older.id, younger.id])

    response = send(api, "patch", f"{LEADS}{younger.id}", {"do_not_contact": True}, auth)
    assert response.status_code == 200
    assert response.json()["id"] == str(older.id)
    assert set(Lead.objects.values_list("do_not_contact", "subscribed")) == {(True, False)}
    assert not Consent.objects.filter(withdrawn_at__isnull=True).exists()


def test_the_unsubscribe_link_withdraws_consent(client: Client) -> None:
    lead = make_lead(subscribed=True)
    consent = _consent(lead)
    response = client.post(f"/u/{unsubscribe_token_make(lead_id=lead.id)}")
    assert response.status_code == 200
    assert Lead.objects.get(pk=lead.pk).subscribed is False
    assert Consent.objects.get(pk=consent.pk).withdrawn_at is not None


def test_sales_reads_but_may_not_patch_export_or_erase(api: Client) -> None:
    lead = make_lead(subscribed=True)
    sales = _sales_header()
    assert send(api, "get", f"{LEADS}{lead.id}", auth=sales).status_code == 200
    before = list(Lead.objects.values())
    assert_error(send(api, "patch", f"{LEADS}{lead.id}", {"subscribed": False}, sales), 403)
    assert_error(send(api, "get", f"{LEADS}{lead.id}/export", auth=sales), 403)
    assert_error(send(api, "delete", f"{LEADS}{lead.id}", auth=sales), 403)
    assert list(Lead.objects.values()) == before


def test_unknown_or_erased_leads_are_404(api: Client, auth: dict) -> None:
    lead = make_lead()
    assert send(api, "delete", f"{LEADS}{lead.id}", auth=auth).status_code == 204
    for url in (f"{LEADS}{lead.id}", f"{LEADS}{uuid.uuid4()}"):
        assert_error(send(api, "patch", url, {"subscribed": False}, auth), 404)
        assert_error(send(api, "get", f"{url}/export", auth=auth), 404)


# ================================ export ===================================================


def test_export_holds_everything_stored_about_the_person(api: Client, auth: dict) -> None:
    gate = make_gate(stage="decision", questions=(("network", "How many sites?"),))
    lead = make_lead(
        name="Ada Lovelace",
        subscribed=True,
        referrer="https://news.example.org/",
        utm_source="linkedin",
        email_verified_at=timezone.now(),
    )
    other = make_lead(name="Someone Else")
    visitor = make_visitor(lead=lead)
    for i in range(5):
        make_event(visitor=visitor, gate=gate, section_key="section-1", url=f"https://x/{i}")
    make_event(visitor=make_visitor(lead=other), gate=gate)
    consent = _consent(lead, gate=gate)
    Submission.objects.create(
        gate=gate, lead=lead, visitor_id=visitor.id, answers={"network": "12"}, subscribed=True
    )
    change = GradeChange.objects.create(
        lead=lead, previous_grade="cold", grade="hot", score=90, reasons=["read section-1"]
    )
    endpoint = make_endpoint(url="https://93.184.216.34/hook")
    Delivery.objects.create(
        endpoint=endpoint,
        grade_change=change,
        lead=lead,
        payload={"data": {"lead": {"email": lead.email}}},
        status=DeliveryStatus.SUCCEEDED,
        attempts=2,
    )
    email_queue(
        kind=EmailKind.CONTENT_LINK, to=lead.email, subject="Your guide", text="Hi", lead_id=lead.id
    )
    merged = make_lead(name="Ada at home")
    leads_merge(lead_ids=[lead.id, merged.id])

    # the id of the merged address exports the same person
    response = send(api, "get", f"{LEADS}{merged.id}/export", auth=auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="leadgate-lead-{lead.id}.json"'
    assert response["Cache-Control"] == "no-store"
    doc = json.loads(b"".join(response.streaming_content))

    assert doc["lead"]["id"] == str(lead.id)
    assert doc["lead"]["email"] == lead.email
    assert doc["lead"]["referrer"] == "https://news.example.org/"
    assert doc["lead"]["email_verified_at"] is not None
    assert [m["email"] for m in doc["merged_leads"]] == [merged.email]
    assert [(c["id"], c["text"], c["method"], c["gate_slug"]) for c in doc["consents"]] == [
        (consent.pk, consent.text, "form", gate.slug)
    ]
    assert [(s["gate_slug"], s["answers"]) for s in doc["submissions"]] == [
        (gate.slug, {"network": "12"})
    ]
    assert [v["id"] for v in doc["visitors"]] == [str(visitor.id)]
    assert sorted(e["url"] for e in doc["events"]) == [f"https://x/{i}" for i in range(5)]
    assert {e["gate_slug"] for e in doc["events"]} == {gate.slug}
    assert [g["reasons"] for g in doc["grade_changes"]] == [["read section-1"]]
    (delivery,) = doc["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("succeeded", 2)
    assert delivery["payload"]["data"]["lead"]["email"] == lead.email
    assert delivery["endpoint_url"] == endpoint.url
    assert [(e["subject"], e["kind"], e["to"]) for e in doc["emails"]] == [
        ("Your guide", "content_link", lead.email)
    ]
    assert "Someone Else" not in json.dumps(doc)


# ================================ erasure ==================================================

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


def _columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns AS c"
            " JOIN information_schema.tables AS t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
            " AND c.data_type = ANY(%s) ORDER BY 1, 2",
            [list(TEXT_TYPES)],
        )
        return list(cursor.fetchall())


def _found_anywhere(needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text-like column of every table holding one."""
    hits = []
    with connection.cursor() as cursor:
        for table, column in _columns():
            for needle in needles:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',
                    [f"%{needle}%"],
                )
                if cursor.fetchone()[0]:
                    hits.append((table, column, needle))
    return hits


def _submit(api: Client, gate: Any, **body: Any) -> Any:
    response = api.post(
        f"/api/v1/public/gates/{gate.slug}/submissions",
        data=json.dumps({"subscribe": True, "website": "", **body}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def _track(api: Client, gate: Any, visitor_id: str, **fields: Any) -> None:
    events = [
        {"id": str(uuid.uuid4()), "type": "section_view", "gate": gate.slug, "section": "section-1",
         "duration_ms": 30_000, **fields},
        {"id": str(uuid.uuid4()), "type": "download", "gate": gate.slug, "file": "network-map",
         **fields},
    ]  # fmt: skip
    response = api.post(
        "/api/v1/public/events",
        data=json.dumps({"visitor_id": visitor_id, "events": events}),
        content_type="application/json",
    )
    assert response.status_code == 202, response.content


def test_erasure_leaves_the_person_nowhere_in_the_database(
    api: Client,
    auth: dict,
    crm_receiver: CrmReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    email, name = "zebulon.quaggafrost@acme-fibre.io", "Zebulon Quaggafrost"
    home, home_name = "zeb.q@quagga-home.net", "Zebby Quaggafrost-Home"
    spy = f"https://partner.example.org/share?from={email}"
    gate = make_gate(stage="decision", questions=(("sites", "How many sites?"),))
    set_thresholds(warm=10, hot=50)
    make_rule(gate=gate, points=60, makes_hot=True)
    make_endpoint(url=crm_receiver.url, grades=["warm", "hot"])
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    with django_capture_on_commit_callbacks(execute=True):
        lead_id = _submit(
            api,
            gate,
            name=name,
            email=email,
            visitor_id=first,
            referrer=spy,
            page_url=f"https://www.example-fibre.com/guide?email={email}",
            utm_campaign=f"retarget-{email}",
            answers={"sites": f"{name} runs 12 sites"},
        )["lead_id"]
    with django_capture_on_commit_callbacks(execute=True):
        _track(api, gate, first, url=f"https://www.example-fibre.com/guide?u={email}", referrer=spy)
    with django_capture_on_commit_callbacks(execute=True):
        home_id = _submit(api, gate, name=home_name, email=home, visitor_id=second)["lead_id"]
    with django_capture_on_commit_callbacks(execute=True):
        _track(api, gate, second, url=f"https://www.example-fibre.com/?u={home}")
    with django_capture_on_commit_callbacks(execute=True):
        leads_merge(lead_ids=[uuid.UUID(lead_id), uuid.UUID(home_id)])
    for person_id in (lead_id, home_id):
        _consent(Lead.objects.get(pk=person_id), gate=gate)

    # the lead was pushed to a real CRM receiver, and the sandbox inboxes hold copies
    assert crm_receiver.requests, "the lead was never pushed"
    assert Delivery.objects.filter(lead_id=lead_id, status=DeliveryStatus.SUCCEEDED).exists()
    assert SandboxEmail.objects.filter(to=[email]).exists()
    assert OutboundEmail.objects.filter(to=home).exists()
    SandboxMessage.objects.create(body=crm_receiver.requests[0].body.decode(), webhook_id="x")
    QuarantinedSubmission.objects.create(
        gate=gate,
        reason=QuarantineReason.TOO_FAST,
        via=QuarantineVia.API,
        name=name,
        email=email.upper(),
        referrer=spy,
        submitted_at=timezone.now(),
    )
    lead = Lead.objects.get(pk=lead_id)
    LogEntry.objects.create(
        user=add_role(make_user(), "marketer"),
        content_type=ContentType.objects.get_for_model(Lead),
        object_id=str(lead.pk),
        object_repr=str(lead),
        action_flag=CHANGE,
        change_message=f"Changed name of {name}.",
    )
    needles = [email, name, home, home_name, "quaggafrost"]
    # the scan sees the person everywhere before: it looks where the data really is
    before = {(table, column) for table, column, _ in _found_anywhere(needles)}
    for place in [
        ("profiling_lead", "referrer"),
        ("profiling_lead", "landing_url"),
        ("profiling_event", "url"),
        ("profiling_event", "touch"),
        ("profiling_delivery", "payload"),
        ("profiling_outboundemail", "to"),
        ("profiling_sandboxemail", "to"),
        ("forms_app_submission", "answers"),
        ("forms_app_quarantinedsubmission", "email"),
        ("django_admin_log", "object_repr"),
    ]:
        assert place in before, place
    events = Event.objects.filter(lead_id=lead_id).count()
    assert events == 4

    # erasing the merged address's id erases the whole person
    response = send(api, "delete", f"{LEADS}{home_id}", auth=auth)
    assert response.status_code == 204

    assert _found_anywhere(needles) == []
    # what stays: anonymous counts (the events, with no link to anyone) and tombstones
    assert Event.objects.filter(lead__isnull=True, gate=gate).count() == events
    assert not Event.objects.filter(lead_id__in=[lead_id, home_id]).exists()
    assert not Visitor.objects.filter(id__in=[first, second]).exists()
    tombstones = Lead.objects.filter(pk__in=[lead_id, home_id])
    assert all(t.erased_at is not None for t in tombstones)
    assert {(t.score, t.grade, t.consented_at, t.last_touch_at) for t in tombstones} == {
        (0, "cold", None, None)
    }
    assert not Consent.objects.exists()
    # both ids are gone for good
    for person_id in (lead_id, home_id):
        assert_error(send(api, "delete", f"{LEADS}{person_id}", auth=auth), 404)
        assert_error(send(api, "get", f"{LEADS}{person_id}", auth=auth), 404)


def test_a_merged_row_left_behind_by_an_earlier_erasure_can_be_erased(
    api: Client, auth: dict
) -> None:
    winner = make_lead(name="Grace Hopper")
    loser = make_lead(name="Grace at home")
    leads_merge(lead_ids=[winner.id, loser.id])
    # as erasure used to leave things: the winner erased, the merged row untouched
    Lead.objects.filter(pk=winner.pk).update(
        erased_at=timezone.now(), name="", email=f"erased-{winner.pk.hex}@erased.invalid"
    )
    response = send(api, "delete", f"{LEADS}{loser.id}", auth=auth)
    assert response.status_code == 204
    loser.refresh_from_db()
    assert (loser.name, loser.erased_at is not None) == ("", True)
    assert loser.email.endswith("@erased.invalid")
    assert_error(send(api, "delete", f"{LEADS}{loser.id}", auth=auth), 404)

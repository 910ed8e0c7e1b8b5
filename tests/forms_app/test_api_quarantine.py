"""Marketer API for the spam quarantine: GET /api/v1/quarantine/,
POST /api/v1/quarantine/{id}/release, DELETE /api/v1/quarantine/{id}."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token

from forms_app.models import QuarantinedSubmission, QuarantineReason, QuarantineVia, Submission
from forms_app.services.quarantine import quarantine_hold
from forms_app.services.submissions import SubmissionInput
from profiling.models import Lead
from tests.support.api import assert_error
from tests.support.factories import make_gate, make_user, random_email

pytestmark = pytest.mark.django_db

LIST = "/api/v1/quarantine/"


def _held(gate: Any = None, reason: QuarantineReason = QuarantineReason.FORGED, **kw: Any) -> Any:
    kw.setdefault("name", "Auto Filled")
    kw.setdefault("email", random_email())
    item = quarantine_hold(
        gate=gate or make_gate(), data=SubmissionInput(**kw), reason=reason, via=QuarantineVia.API
    )
    assert item is not None
    return item


def _token_for(group: str | None) -> dict[str, str]:
    user = make_user(is_staff=False)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


def test_list_shows_what_is_held(api: Client, auth: dict[str, str]) -> None:
    gate = make_gate()
    item = _held(gate, email="ada@example-fibre.com", subscribe=True, utm_source="linkedin")
    _held(reason=QuarantineReason.TOO_FAST)
    response = api.get(LIST, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    row = next(r for r in body["results"] if r["id"] == item.pk)
    assert row["gate"] == gate.slug
    assert (row["reason"], row["via"], row["email"], row["subscribe"]) == (
        "forged",
        "api",
        "ada@example-fibre.com",
        True,
    )
    assert row["utm_source"] == "linkedin"
    assert row["consent_text"] == gate.consent_text
    assert row["submitted_at"]
    only = api.get(f"{LIST}?gate={gate.slug}&reason=forged", headers=auth).json()
    assert [r["id"] for r in only["results"]] == [item.pk]
    assert api.get(f"{LIST}?reason=too_fast", headers=auth).json()["count"] == 1


@pytest.mark.parametrize("query", ["reason=nope", "gate=no-such-gate", "gate=" + "a" * 81])
def test_bad_filters_are_400_in_the_shape(api: Client, auth: dict[str, str], query: str) -> None:
    assert_error(api.get(f"{LIST}?{query}", headers=auth), 400)


def test_release_makes_the_lead_once(api: Client, auth: dict[str, str]) -> None:
    item = _held(email="ada@example-fibre.com")
    response = api.post(f"/api/v1/quarantine/{item.pk}/release", headers=auth)
    assert response.status_code == 200
    lead = Lead.objects.get(email="ada@example-fibre.com")
    assert response.json() == {"lead_id": str(lead.id), "created": True}
    assert Submission.objects.filter(lead=lead).count() == 1
    assert not QuarantinedSubmission.objects.exists()
    # A retry changes nothing.
    assert_error(api.post(f"/api/v1/quarantine/{item.pk}/release", headers=auth), 404)
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 1


def test_release_into_a_gate_now_open_content_is_400(api: Client, auth: dict[str, str]) -> None:
    gate = make_gate()
    item = _held(gate)
    gate.stage = "epiphany"
    gate.save()
    assert_error(api.post(f"/api/v1/quarantine/{item.pk}/release", headers=auth), 400, "__all__")
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()


def test_delete_removes_it_once(api: Client, auth: dict[str, str]) -> None:
    item = _held()
    response = api.delete(f"/api/v1/quarantine/{item.pk}", headers=auth)
    assert response.status_code == 204
    assert not QuarantinedSubmission.objects.exists()
    assert_error(api.delete(f"/api/v1/quarantine/{item.pk}", headers=auth), 404)
    assert not Lead.objects.exists()


@pytest.mark.parametrize("path", ["0", "999999999999999999"])
def test_unknown_ids_are_404(api: Client, auth: dict[str, str], path: str) -> None:
    assert_error(api.post(f"/api/v1/quarantine/{path}/release", headers=auth), 404)
    assert_error(api.delete(f"/api/v1/quarantine/{path}", headers=auth), 404)


@pytest.mark.parametrize("group", ["sales", None])
def test_sales_and_no_role_users_get_403(api: Client, group: str | None) -> None:
    item = _held(email="held@example-fibre.com")
    headers = _token_for(group)
    for response in (
        api.get(LIST, headers=headers),
        api.post(f"/api/v1/quarantine/{item.pk}/release", headers=headers),
        api.delete(f"/api/v1/quarantine/{item.pk}", headers=headers),
    ):
        assert_error(response, 403)
        assert b"held@example-fibre.com" not in response.content
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()
    assert not Lead.objects.exists()


def test_a_marketer_group_user_without_staff_may_act(api: Client) -> None:
    item = _held()
    headers = _token_for("marketer")
    assert api.get(LIST, headers=headers).status_code == 200
    assert api.delete(f"/api/v1/quarantine/{item.pk}", headers=headers).status_code == 204


def test_anonymous_is_refused(api: Client) -> None:
    item = _held()
    for response in (
        api.get(LIST),
        api.post(f"/api/v1/quarantine/{item.pk}/release"),
        api.delete(f"/api/v1/quarantine/{item.pk}"),
    ):
        assert response.status_code in (401, 403)
    assert QuarantinedSubmission.objects.filter(pk=item.pk).exists()


def test_the_schema_lists_the_endpoints(api: Client) -> None:
    import yaml

    schema = yaml.safe_load(api.get("/api/schema/").content)
    paths = schema["paths"]
    assert set(paths["/api/v1/quarantine/"]["get"]["responses"]) == {"200", "400", "401", "403"}
    release = paths["/api/v1/quarantine/{id}/release"]["post"]["responses"]
    assert set(release) == {"200", "400", "401", "403", "404"}
    assert set(paths["/api/v1/quarantine/{id}"]["delete"]["responses"]) == {
        "204",
        "401",
        "403",
        "404",
    }

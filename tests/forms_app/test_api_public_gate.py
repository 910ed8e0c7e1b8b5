"""Public gate endpoints: GET /api/v1/public/gates/{slug} and POST .../submissions.

Every error answer is checked for its status and the contract's shape, and for leaving
nothing behind (no lead, no visitor, no submission).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.test import Client

from forms_app.access import access_token_read
from forms_app.models import QuarantinedSubmission, Stage, Submission
from forms_app.selectors import spam_tally_totals
from profiling.models import Delivery, GradeChange, Lead, Visitor
from tests.support.api import assert_error
from tests.support.factories import (
    DEFAULT_ORIGIN,
    make_endpoint,
    make_event,
    make_gate,
    make_lead,
    make_rule,
    make_visitor,
    random_email,
    set_thresholds,
)

pytestmark = pytest.mark.django_db

FOREIGN = "https://evil.example.net"


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 1000
    settings.LEADGATE_SUBMIT_LIMIT_PER_GATE = 1000
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _url(gate_or_slug: Any) -> str:
    slug = getattr(gate_or_slug, "slug", gate_or_slug)
    return f"/api/v1/public/gates/{slug}"


def _submit(api: Client, gate: Any, body: Any, **headers: str):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post(
        _url(gate) + "/submissions",
        data=data,
        content_type="application/json",
        headers=headers or None,
    )


def _valid(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Ada Lovelace",
        "email": random_email(),
        "subscribe": True,
        "visitor_id": str(uuid.uuid4()),
        "website": "",
    }
    body.update(overrides)
    return body


def _nothing_stored() -> None:
    assert not Lead.objects.exists()
    assert not Visitor.objects.exists()
    assert not Submission.objects.exists()


# --- GET config ---------------------------------------------------------------------------


def test_get_config_has_the_contract_fields(api: Client) -> None:
    gate = make_gate(
        stage=Stage.INTEREST,
        headline="Plan your network",
        description="Six chapters",
        sections=["why-fiber", "how"],
        files=["network-map"],
    )
    gate.sections.filter(key="why-fiber").update(body="SECRET GATED TEXT")
    response = api.get(_url(gate), headers={"Origin": DEFAULT_ORIGIN})
    assert response.status_code == 200
    data = response.json()
    assert {
        "slug",
        "title",
        "stage",
        "headline",
        "description",
        "subscribe_label",
        "submit_label",
        "fields",
        "sections",
        "files",
    } <= set(data)
    assert (data["slug"], data["stage"], data["headline"]) == (
        gate.slug,
        "interest",
        "Plan your network",
    )
    assert [f["name"] for f in data["fields"]] == ["name", "email", "subscribe"]
    for field in data["fields"]:
        assert set(field) >= {"name", "type", "label", "required"}
    assert data["sections"] == [
        {"key": "why-fiber", "title": "Why Fiber"},
        {"key": "how", "title": "How"},
    ]
    assert data["files"] == [{"key": "network-map", "title": "Network Map"}]
    # What the tracker needs to count reading time (see README "Reading is attention").
    assert (data["min_dwell_ms"], data["idle_timeout_ms"]) == (5000, 30_000)
    # the gated content itself is not handed out by the public config
    assert "SECRET GATED TEXT" not in response.content.decode()
    assert response["Access-Control-Allow-Origin"] == DEFAULT_ORIGIN
    assert "Origin" in response["Vary"]


def test_epiphany_config_has_no_fields(api: Client) -> None:
    gate = make_gate(stage=Stage.EPIPHANY)
    assert api.get(_url(gate)).json()["fields"] == []


def test_decision_config_asks_the_next_question_for_a_known_visitor(api: Client) -> None:
    gate = make_gate(
        stage=Stage.DECISION,
        questions=(("sites", "How many sites need fibre?"), ("goal", "Main goal?")),
    )
    lead = make_lead()
    visitor = make_visitor(lead=lead)
    Submission.objects.create(gate=gate, lead=lead, answers={"sites": "3"})
    names = [f["name"] for f in api.get(_url(gate)).json()["fields"]]
    assert names == ["name", "email", "subscribe", "sites"]
    names = [
        f["name"] for f in api.get(_url(gate), {"visitor_id": str(visitor.id)}).json()["fields"]
    ]
    assert names == ["name", "email", "subscribe", "goal"]


@pytest.mark.parametrize("visitor_id", ["nope", "\x00", "1" * 5000, "{}", "[]"])
def test_get_config_with_a_bad_visitor_id(api: Client, visitor_id: str) -> None:
    gate = make_gate()
    assert_error(api.get(_url(gate), {"visitor_id": visitor_id}), 400, "visitor_id")


def test_get_config_with_an_unknown_visitor_is_fine(api: Client) -> None:
    gate = make_gate()
    response = api.get(_url(gate), {"visitor_id": str(uuid.uuid4())})
    assert response.status_code == 200
    assert not Visitor.objects.exists()  # reading config creates nothing


@pytest.mark.parametrize(
    "slug", ["no-such-gate", "NOPE", "a" * 200, "%00", "..%2f..%2fetc", "gate;drop", "é"]
)
def test_unknown_slugs_are_404_in_the_shape(api: Client, slug: str) -> None:
    make_gate()
    assert_error(api.get(f"/api/v1/public/gates/{slug}"), 404)


def test_inactive_gate_is_404(api: Client) -> None:
    gate = make_gate(is_active=False)
    assert_error(api.get(_url(gate)), 404)
    assert_error(_submit(api, gate, _valid()), 404)
    _nothing_stored()


@pytest.mark.parametrize(
    "origin", [FOREIGN, "null", DEFAULT_ORIGIN + ".evil.net", "http://www.example-fibre.com"]
)
def test_foreign_origin_is_refused(api: Client, origin: str) -> None:
    gate = make_gate()
    response = api.get(_url(gate), headers={"Origin": origin})
    assert_error(response, 403)
    assert "Access-Control-Allow-Origin" not in response
    assert_error(api.options(_url(gate), headers={"Origin": origin}), 403)


def test_listed_origin_any_case_and_own_origin_are_allowed(api: Client) -> None:
    gate = make_gate()
    for origin in (
        DEFAULT_ORIGIN,
        DEFAULT_ORIGIN.upper(),
        DEFAULT_ORIGIN + "/",
        "http://testserver",
    ):
        assert api.get(_url(gate), headers={"Origin": origin}).status_code == 200, origin


def test_preflight_for_an_allowed_origin(api: Client) -> None:
    gate = make_gate()
    response = api.options(
        _url(gate) + "/submissions",
        headers={"Origin": DEFAULT_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code in (200, 204)
    assert response["Access-Control-Allow-Origin"] == DEFAULT_ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_405_in_the_shape(api: Client, method: str) -> None:
    gate = make_gate()
    assert_error(getattr(api, method)(_url(gate)), 405)
    assert_error(getattr(api, method)(_url(gate) + "/submissions"), 405)


def test_hostile_title_comes_back_as_inert_json_data(api: Client) -> None:
    title = '<script>alert("x")</script> & \' " \u2028'
    gate = make_gate(title=title)
    response = api.get(_url(gate))
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["title"] == title


# --- POST submissions -----------------------------------------------------------------------


def test_submission_creates_a_lead_and_returns_access(api: Client) -> None:
    gate = make_gate()
    body = _valid(utm_source="linkedin", referrer="https://www.linkedin.com/")
    response = _submit(api, gate, body, Origin=DEFAULT_ORIGIN)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) >= {"lead_id", "access_token", "content_url"}
    lead = Lead.objects.get(pk=data["lead_id"])
    assert lead.email == body["email"]
    assert lead.subscribed is True
    assert lead.utm_source == "linkedin"
    assert Visitor.objects.get(pk=body["visitor_id"]).lead_id == lead.id
    access = access_token_read(data["access_token"], gate_slug=gate.slug)
    assert access is not None
    assert access.lead_id == lead.id
    assert f"/g/{gate.slug}" in data["content_url"]
    assert data["access_token"] in data["content_url"]
    assert response["Access-Control-Allow-Origin"] == DEFAULT_ORIGIN


def test_same_email_twice_is_the_same_lead(api: Client) -> None:
    gate = make_gate()
    email = random_email()
    first = _submit(api, gate, _valid(email=email)).json()["lead_id"]
    second = _submit(api, gate, _valid(email=f"  {email.upper()}  ")).json()["lead_id"]
    assert first == second
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 2


def test_minimal_body_is_enough(api: Client) -> None:
    gate = make_gate()
    response = _submit(api, gate, {"name": "Ada", "email": random_email()})
    assert response.status_code == 201
    assert Lead.objects.get().subscribed is False


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        "{'name': 'single quotes'}",
        '{"name": "Ada",}',
        "",
        "nul\x00l",
        b"\xff\xfe\xfd",
        '{"name": NaN}',
    ],
)
def test_malformed_json_is_400(api: Client, raw: str | bytes) -> None:
    gate = make_gate()
    assert_error(_submit(api, gate, raw), 400)
    _nothing_stored()


@pytest.mark.parametrize("body", [[], [1, 2], "a string", 42, None, True])
def test_non_object_bodies_are_400(api: Client, body: Any) -> None:
    gate = make_gate()
    assert_error(_submit(api, gate, json.dumps(body)), 400)
    _nothing_stored()


def test_form_encoded_body_is_refused_in_the_shape(api: Client) -> None:
    gate = make_gate()
    response = api.post(_url(gate) + "/submissions", data={"name": "Ada", "email": "a@acme.io"})
    assert_error(response, 415)
    _nothing_stored()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": ["Ada"]}, "name"),
        ({"name": {"first": "Ada"}}, "name"),
        ({"name": True}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ada\x00"}, "name"),
        ({"name": "\ud800"}, "name"),
        ({"email": None}, "email"),
        ({"email": ""}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "ada@acme.io\x00"}, "email"),
        ({"email": ["ada@acme.io"]}, "email"),
        ({"email": 12345}, "email"),
        ({"email": "a" * 250 + "@acme.io"}, "email"),
        ({"email": "ada@acme.io, bob@acme.io"}, "email"),
        ({"email": "ada@acme.io\r\nBcc: x@y.z"}, "email"),
        ({"subscribe": "maybe"}, "subscribe"),
        ({"subscribe": None}, "subscribe"),
        ({"subscribe": [True]}, "subscribe"),
        ({"subscribe": 2}, "subscribe"),
        ({"visitor_id": "not-a-uuid"}, "visitor_id"),
        ({"visitor_id": ["a"]}, "visitor_id"),
        ({"visitor_id": "\x00"}, "visitor_id"),
        ({"utm_source": ["linkedin"]}, "utm_source"),
        ({"utm_source": "x" * 201}, "utm_source"),
        ({"utm_campaign": "a\x00b"}, "utm_campaign"),
        ({"referrer": "x" * 2001}, "referrer"),
        ({"referrer": "\x00"}, "referrer"),
        ({"page_url": {"a": 1}}, "page_url"),
        ({"website": ["x"]}, "website"),
        ({"answers": ["a"]}, "answers"),
        ({"answers": "sites=3"}, "answers"),
        ({"answers": {"sites": ["3"]}}, "answers.sites"),
        ({"answers": {"sites": "x" * 501}}, "answers.sites"),
        ({"answers": {"sites": "3\x00"}}, "answers.sites"),
    ],
)
def test_bad_fields_are_400_and_store_nothing(api: Client, overrides: dict, field: str) -> None:
    gate = make_gate(stage=Stage.DECISION, questions=(("sites", "How many sites?"),))
    assert_error(_submit(api, gate, _valid(**overrides)), 400, field)
    _nothing_stored()


@pytest.mark.parametrize("missing", ["name", "email"])
def test_required_fields(api: Client, missing: str) -> None:
    gate = make_gate()
    body = _valid()
    del body[missing]
    assert_error(_submit(api, gate, body), 400, missing)
    _nothing_stored()


def test_banned_extra_field_is_refused_with_the_reason(api: Client) -> None:
    gate = make_gate()
    errors = assert_error(_submit(api, gate, _valid(phone="+1 555 0100", company="Acme")), 400)
    assert "phone" in errors["phone"][0]
    assert "email domain" in errors["company"][0]
    assert (
        "Unknown field"
        in assert_error(_submit(api, gate, _valid(shoe_size="44")), 400)["shoe_size"][0]
    )
    _nothing_stored()


def test_many_unknown_keys_give_a_bounded_answer(api: Client) -> None:
    gate = make_gate()
    body = _valid(**{f"k{i}{'x' * 200}": i for i in range(500)})
    response = _submit(api, gate, body)
    errors = assert_error(response, 400)
    assert len(errors) <= 20
    assert all(len(k) <= 80 for k in errors)
    _nothing_stored()


def test_oversized_body_is_refused(api: Client) -> None:
    gate = make_gate()
    response = _submit(api, gate, _valid(name="x" * 700_000))
    assert_error(response, response.status_code)
    assert response.status_code in (400, 413)
    _nothing_stored()


def test_deeply_nested_json_is_400(api: Client) -> None:
    gate = make_gate()
    assert_error(_submit(api, gate, "[" * 20_000 + "]" * 20_000), 400)
    _nothing_stored()


def test_nested_but_reasonable_json_in_a_field_is_a_field_error(api: Client) -> None:
    gate = make_gate()
    deep: Any = "x"
    for _ in range(50):
        deep = {"a": deep}
    assert_error(_submit(api, gate, _valid(name=deep)), 400, "name")
    _nothing_stored()


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(document.cookie)</script>",
        "Robert'); DROP TABLE profiling_lead;--",
        "' OR '1'='1",
        "José Ñúñez 李小龍 🚀",
        "\u202eevil\u202c",
        '=HYPERLINK("http://x")',
    ],
)
def test_hostile_names_are_stored_as_inert_data(api: Client, name: str, auth) -> None:
    gate = make_gate()
    response = _submit(api, gate, _valid(name=name))
    assert response.status_code == 201
    lead_id = response.json()["lead_id"]
    assert Lead.objects.get(pk=lead_id).name == name
    assert Lead.objects.count() == 1
    detail = api.get(f"/api/v1/leads/{lead_id}", headers=auth)
    assert detail["Content-Type"].startswith("application/json")
    assert detail.json()["name"] == name


def test_honeypot_filled_looks_like_success_and_is_only_counted(api: Client) -> None:
    gate = make_gate()
    response = _submit(api, gate, _valid(website="http://spam.example"))
    assert response.status_code == 201
    assert set(response.json()) >= {"lead_id", "access_token", "content_url"}
    assert access_token_read(response.json()["access_token"], gate_slug=gate.slug) is None
    _nothing_stored()
    assert not QuarantinedSubmission.objects.exists()
    assert _submit(api, gate, _valid(website="x")).status_code == 201
    assert spam_tally_totals(gate=gate) == {"honeypot": 2, "discarded": 0}


def test_epiphany_gate_refuses_submissions(api: Client) -> None:
    gate = make_gate(stage=Stage.EPIPHANY)
    assert_error(_submit(api, gate, _valid()), 400)
    _nothing_stored()


def test_unknown_gate_is_404(api: Client) -> None:
    assert_error(_submit(api, "no-such-gate", _valid()), 404)
    _nothing_stored()


def test_foreign_origin_submission_is_403_and_stores_nothing(api: Client) -> None:
    gate = make_gate()
    response = _submit(api, gate, _valid(), Origin=FOREIGN)
    assert_error(response, 403)
    assert "Access-Control-Allow-Origin" not in response
    _nothing_stored()


def test_answers_only_for_the_gates_questions_are_kept(api: Client) -> None:
    gate = make_gate(stage=Stage.DECISION, questions=(("sites", "How many sites?"),))
    response = _submit(api, gate, _valid(answers={"sites": "12", "other": "x"}))
    assert response.status_code == 201
    assert Submission.objects.get().answers == {"sites": "12"}


def test_too_many_submissions_are_429_with_retry_after(api: Client, settings) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 2
    gate = make_gate()
    assert _submit(api, gate, _valid()).status_code == 201
    assert _submit(api, gate, _valid()).status_code == 201
    response = _submit(api, gate, _valid())
    assert_error(response, 429)
    assert int(response["Retry-After"]) >= 1
    assert Lead.objects.count() == 2
    # another gate has its own budget
    assert _submit(api, make_gate(), _valid()).status_code == 201


def test_gate_wide_limit(api: Client, settings) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_GATE = 1
    gate = make_gate()
    assert _submit(api, gate, _valid()).status_code == 201
    assert_error(_submit(api, gate, _valid()), 429)
    assert Lead.objects.count() == 1


# --- spam: the signed render-time form token ------------------------------------------


def _old_token(gate: Any, seconds_ago: float = 10) -> str:
    from forms_app.spam import form_token_make

    return form_token_make(
        gate_slug=gate.slug, issued_at_ms=int((time.time() - seconds_ago) * 1000)
    )


@pytest.mark.form_token
def test_config_hands_out_a_form_token_for_this_gate(api: Client, settings) -> None:
    from forms_app.spam import TokenVerdict, form_token_check

    settings.LEADGATE_FORM_MIN_FILL_MS = 0
    gate = make_gate()
    token = api.get(_url(gate)).json()["form_token"]
    assert form_token_check(token, gate_slug=gate.slug) is TokenVerdict.OK
    assert form_token_check(token, gate_slug="another-gate") is TokenVerdict.FORGED


@pytest.mark.form_token
def test_submission_with_the_config_token_creates_the_lead(api: Client) -> None:
    gate = make_gate()
    token = api.get(_url(gate)).json()["form_token"]
    response = _submit(api, gate, _valid(form_token=token))
    assert response.status_code == 201
    assert Lead.objects.filter(id=response.json()["lead_id"]).exists()


@pytest.mark.form_token
@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("missing", "missing"),
        ("", "missing"),
        ("forged", "forged"),
        ("other-gate", "forged"),
        ("too-fast", "too_fast"),
    ],
)
def test_suspect_submissions_look_like_a_success_and_are_held(
    api: Client, settings, django_capture_on_commit_callbacks, token: str, reason: str
) -> None:
    from forms_app.spam import form_token_make

    settings.LEADGATE_FORM_MIN_FILL_MS = 3000
    set_thresholds(warm=5, hot=10)
    gate = make_gate()
    other = make_gate()
    make_rule(gate=gate, points=20)
    make_endpoint(url="http://127.0.0.1:9/unused", grades=["warm", "hot"])
    visitor = make_visitor()
    make_event(visitor=visitor, gate=gate, section_key="section-1")
    body = _valid(email="autofill@example-fibre.com", visitor_id=str(visitor.id), utm_source="x")
    if token != "missing":
        body["form_token"] = {
            "": "",
            "forged": _old_token(gate)[:-3] + "abc",
            "other-gate": _old_token(other),
            "too-fast": form_token_make(gate_slug=gate.slug),
        }[token]
    # Run what commits enqueue (scoring, then pushes), as in production.
    with django_capture_on_commit_callbacks(execute=True):
        response = _submit(api, gate, body)
        real = _submit(api, gate, _valid(form_token=_old_token(gate)))
    # The same status and the same shape as a real success: a bot learns nothing ...
    assert response.status_code == real.status_code == 201
    assert set(response.json()) == set(real.json())
    assert len(response.json()["lead_id"]) == len(real.json()["lead_id"])
    assert response.json()["content_url"].startswith(f"http://testserver/g/{gate.slug}?t=")
    # ... its token opens nothing and it made no lead: it waits in the quarantine, out of
    # scoring and pushes (the visitor's events stay anonymous).
    assert access_token_read(response.json()["access_token"], gate_slug=gate.slug) is None
    assert Lead.objects.count() == 1
    assert Submission.objects.count() == 1
    assert not Lead.objects.filter(id=response.json()["lead_id"]).exists()
    assert not Lead.objects.filter(email="autofill@example-fibre.com").exists()
    assert Visitor.objects.get(pk=visitor.id).lead_id is None
    assert not Delivery.objects.exists()
    assert not GradeChange.objects.exists()
    held = QuarantinedSubmission.objects.get()
    assert (held.gate_id, held.reason, held.via) == (gate.id, reason, "api")
    assert (held.email, held.visitor_id, held.utm_source) == (
        "autofill@example-fibre.com",
        visitor.id,
        "x",
    )


@pytest.mark.form_token
def test_an_expired_form_token_is_a_400_the_script_can_recover_from(api: Client, settings) -> None:
    settings.LEADGATE_FORM_TOKEN_MAX_AGE_S = 60
    gate = make_gate()
    response = _submit(api, gate, _valid(form_token=_old_token(gate, seconds_ago=120)))
    assert_error(response, 400, "form_token")
    _nothing_stored()


@pytest.mark.form_token
@pytest.mark.parametrize("token", ["x" * 301, ["a"], {"t": 1}])
def test_hostile_form_tokens_are_400_in_the_shape(api: Client, token: Any) -> None:
    gate = make_gate()
    assert_error(_submit(api, gate, _valid(form_token=token)), 400, "form_token")
    _nothing_stored()


@pytest.mark.form_token
def test_a_replayed_token_still_obeys_the_rate_limit(api: Client, settings) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 2
    gate = make_gate()
    token = _old_token(gate)
    statuses = [_submit(api, gate, _valid(form_token=token)).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert Lead.objects.count() == 2


# --- validation: names, emails, disposable domains -----------------------------------------


@pytest.mark.parametrize("name", ["Ada\nBcc: x@evil.example", "Ada\x00", "Ada\x1b[31m", "\x7f"])
def test_control_characters_in_names_are_refused(api: Client, name: str) -> None:
    gate = make_gate()
    assert_error(_submit(api, gate, _valid(name=name)), 400, "name")
    _nothing_stored()


def test_names_are_trimmed_and_length_limited(api: Client) -> None:
    gate = make_gate()
    response = _submit(api, gate, _valid(name="   Ada Lovelace  ", email="ada@trim.example"))
    assert response.status_code == 201
    assert Lead.objects.get(email="ada@trim.example").name == "Ada Lovelace"
    assert_error(_submit(api, gate, _valid(name="A" * 201)), 400, "name")
    assert_error(_submit(api, gate, _valid(name="    ")), 400, "name")


@pytest.mark.parametrize(
    "email",
    ["plainaddress", "a@b", "jo@exa_mple.com", "jo..doe@example.com", "jo@example..com", "@x.io"],
)
def test_email_syntax_is_really_checked(api: Client, email: str) -> None:
    gate = make_gate()
    assert_error(_submit(api, gate, _valid(email=email)), 400, "email")
    _nothing_stored()


def test_disposable_addresses_are_accepted_and_marked(api: Client) -> None:
    gate = make_gate()
    response = _submit(api, gate, _valid(email="jo@mailinator.com"))
    assert response.status_code == 201
    lead = Lead.objects.get(id=response.json()["lead_id"])
    assert lead.is_disposable_email is True
    assert lead.company_domain == ""
    work = _submit(api, gate, _valid(email="jo@acme-telecom.example"))
    assert Lead.objects.get(id=work.json()["lead_id"]).is_disposable_email is False


# --- plain-word errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "jo@exa_mple.com"}, "email", "Enter an email address like name@example.com."),
        ({"email": "plainaddress"}, "email", "Enter an email address like name@example.com."),
        ({"email": ""}, "email", "Enter your email address, like name@example.com."),
        ({"email": None}, "email", "Enter your email address, like name@example.com."),
        (
            {"email": "a" * 250 + "@x.io"},
            "email",
            "Enter an email address of at most 254 characters.",
        ),
        ({"name": ""}, "name", "Enter your name."),
        ({"name": "   "}, "name", "Enter your name."),
        ({"name": "A" * 201}, "name", "Enter a name of at most 200 characters."),
        (
            {"answers": {"issue": "x" * 501}},
            "answers.issue",
            "Keep your answer to at most 500 characters.",
        ),
    ],
)
def test_submission_errors_are_in_plain_words(
    api: Client, overrides: dict[str, Any], field: str, message: str
) -> None:
    gate = make_gate()
    response = _submit(api, gate, _valid(**overrides))
    assert response.status_code == 400
    assert response.json()["errors"][field] == [message]
    _nothing_stored()


def test_a_missing_name_field_is_asked_for_in_plain_words(api: Client) -> None:
    body = _valid()
    del body["name"]
    response = _submit(api, make_gate(), body)
    assert response.json()["errors"]["name"] == ["Enter your name."]


def test_a_required_opt_in_must_be_ticked(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stage requires the opt-in today; a gate that did gets the plain message."""
    from forms_app.api import public
    from forms_app.stage_policy import FieldSpec

    monkeypatch.setattr(
        public,
        "base_fields",
        lambda gate: [FieldSpec("subscribe", "checkbox", "I agree", True)],
    )
    gate = make_gate()
    response = _submit(api, gate, _valid(subscribe=False))
    assert response.status_code == 400
    assert response.json()["errors"]["subscribe"] == ["Tick the box to agree before you continue."]
    _nothing_stored()

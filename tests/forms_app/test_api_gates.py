"""Marketer gate CRUD: /api/v1/gates/ and /api/v1/gates/{slug}."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_app.models import FormField, Gate, GateFile, Section
from tests.support.api import assert_error
from tests.support.factories import make_gate, make_marketer, random_slug

pytestmark = pytest.mark.django_db

LIST = "/api/v1/gates/"


def _send(api: Client, method: str, url: str, body: Any, auth: dict[str, str]):
    if method == "get":
        return api.get(url, headers=auth)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(api, method)(url, data=data, content_type="application/json", headers=auth)


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": random_slug(),
        "title": "Network vBook",
        "stage": "decision",
        "headline": "Plan a fibre network",
        "description": "Six chapters.",
        "allowed_origins": ["https://www.example-fibre.com"],
        "sections": [
            {"key": "why-fiber", "title": "Why fibre", "body": "...", "topics": ["fibre"]},
            {"key": "costs", "title": "Costs"},
        ],
        "files": [{"key": "network-map", "title": "Map", "url": "https://files.example.com/m.pdf"}],
        "fields": [{"name": "sites", "label": "How many sites need fibre?"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def settings_media(settings: Any, tmp_path: Any) -> None:
    """Generated uploads land in a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path


def _snapshot(slug: str) -> dict[str, Any]:
    gate = Gate.objects.get(slug=slug)
    return {
        "gate": {
            f.attname: getattr(gate, f.attname)
            for f in Gate._meta.concrete_fields
            if f.attname != "updated_at"
        },
        "sections": list(Section.objects.filter(gate=gate).values_list("pk", "key", "title")),
        "files": list(GateFile.objects.filter(gate=gate).values_list("pk", "key", "url")),
        "fields": list(FormField.objects.filter(gate=gate).values_list("pk", "name", "label")),
    }


# --- happy paths --------------------------------------------------------------------------


def test_create_read_list(api: Client, auth) -> None:
    body = _body()
    response = _send(api, "post", LIST, body, auth)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["slug"] == body["slug"]
    assert data["stage"] == "decision"
    assert [s["key"] for s in data["sections"]] == ["why-fiber", "costs"]
    assert data["sections"][0]["topics"] == ["fibre"]
    assert data["files"][0]["key"] == "network-map"
    assert data["files"][0]["tracked_url"].endswith(f"/g/{body['slug']}/files/network-map")
    assert data["fields"] == [
        {"name": "sites", "type": "text", "label": "How many sites need fibre?", "choices": []}
    ]
    assert data["hosted_url"].endswith(f"/g/{body['slug']}")
    assert f'data-gate="{body["slug"]}"' in data["embed_snippet"]
    assert data["allowed_origins"] == ["https://www.example-fibre.com"]

    read = api.get(f"{LIST}{body['slug']}", headers=auth)
    assert read.status_code == 200
    assert read.json()["slug"] == body["slug"]
    assert read.json()["sections"] == data["sections"]
    # with or without the trailing slash
    assert api.get(f"{LIST}{body['slug']}/", headers=auth).status_code == 200
    assert api.get(LIST.rstrip("/"), headers=auth).status_code == 200

    listed = api.get(LIST, headers=auth).json()
    assert body["slug"] in [g["slug"] for g in listed]


def test_idle_cut_off_defaults_to_30_s_and_is_settable(api: Client, auth) -> None:
    body = _body()
    created = _send(api, "post", LIST, body, auth).json()
    assert created["idle_timeout_ms"] == 30_000
    patched = _send(api, "patch", f"{LIST}{body['slug']}", {"idle_timeout_ms": 45_000}, auth)
    assert patched.status_code == 200, patched.content
    assert patched.json()["idle_timeout_ms"] == 45_000
    assert Gate.objects.get(slug=body["slug"]).idle_timeout_ms == 45_000


def test_section_words_are_counted_from_the_body(api: Client, auth) -> None:
    body = _body()
    body["sections"] = [
        {"key": "long", "title": "Long", "body": "Fibre  reaches\nevery street. " * 100}
    ]
    assert _send(api, "post", LIST, body, auth).status_code == 201
    section = Section.objects.get(gate__slug=body["slug"], key="long")
    assert section.words == 400
    body["sections"][0]["body"] = "Three short words"
    assert _send(api, "put", f"{LIST}{body['slug']}", body, auth).status_code == 200
    section.refresh_from_db()
    assert section.words == 3


def test_origins_are_normalised(api: Client, auth) -> None:
    body = _body(
        allowed_origins=["HTTPS://WWW.Example-Fibre.com/", "https://www.example-fibre.com"]
    )
    data = _send(api, "post", LIST, body, auth).json()
    assert data["allowed_origins"] == ["https://www.example-fibre.com"]


def test_patch_replaces_children_by_key_and_keeps_ids(api: Client, auth) -> None:
    gate = make_gate(sections=["a", "b"])
    a_id = Section.objects.get(gate=gate, key="a").pk
    response = _send(
        api,
        "patch",
        f"{LIST}{gate.slug}",
        {
            "title": "New title",
            "sections": [{"key": "c", "title": "C"}, {"key": "a", "title": "A2"}],
        },
        auth,
    )
    assert response.status_code == 200, response.content
    assert [s["key"] for s in response.json()["sections"]] == ["c", "a"]
    assert Section.objects.get(gate=gate, key="a").pk == a_id
    assert not Section.objects.filter(gate=gate, key="b").exists()
    assert Gate.objects.get(pk=gate.pk).title == "New title"


def test_put_renames_the_slug(api: Client, auth) -> None:
    gate = make_gate()
    new_slug = random_slug()
    response = _send(api, "put", f"{LIST}{gate.slug}", {"slug": new_slug, "title": "T"}, auth)
    assert response.status_code == 200, response.content
    assert Gate.objects.get(pk=gate.pk).slug == new_slug
    assert_error(api.get(f"{LIST}{gate.slug}", headers=auth), 404)


def test_delete(api: Client, auth) -> None:
    gate = make_gate()
    response = api.delete(f"{LIST}{gate.slug}", headers=auth)
    assert response.status_code == 204
    assert not Gate.objects.filter(pk=gate.pk).exists()
    assert_error(api.delete(f"{LIST}{gate.slug}", headers=auth), 404)
    assert_error(api.get(f"{LIST}{gate.slug}", headers=auth), 404)


def test_upload_is_stored(api: Client, auth, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    content = b"%PDF-1.4 tiny"
    body = _body(
        files=[
            {
                "key": "map",
                "title": "Map",
                "upload": {
                    "name": "../../etc/map.pdf",
                    "content_base64": base64.b64encode(content).decode(),
                },
            }
        ]
    )
    response = _send(api, "post", LIST, body, auth)
    assert response.status_code == 201, response.content
    assert response.json()["files"][0]["has_upload"] is True
    stored = GateFile.objects.get(gate__slug=body["slug"])
    assert stored.upload.read() == content
    assert stored.upload.name is not None
    assert ".." not in stored.upload.name
    assert str(tmp_path) in stored.upload.path


@pytest.mark.parametrize(
    "value",
    [
        "<script>alert(1)</script>",
        "Robert'); DROP TABLE forms_app_gate;--",
        "Réseau fibre 光纤 🚀",
    ],
)
def test_hostile_titles_are_stored_and_returned_verbatim(api: Client, auth, value: str) -> None:
    body = _body(title=value, description=value, headline=value[:300])
    response = _send(api, "post", LIST, body, auth)
    assert response.status_code == 201
    assert response["Content-Type"].startswith("application/json")
    data = api.get(f"{LIST}{body['slug']}", headers=auth).json()
    assert (data["title"], data["description"]) == (value, value)
    assert Gate.objects.count() == 1


# --- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Token wrong"},
        {"Authorization": "Bearer x"},
        {"Authorization": "Token "},
    ],
)
def test_auth_required_everywhere(api: Client, headers: dict[str, str]) -> None:
    gate = make_gate()
    before = _snapshot(gate.slug)
    for method, url, body in [
        ("get", LIST, None),
        ("post", LIST, _body()),
        ("get", f"{LIST}{gate.slug}", None),
        ("patch", f"{LIST}{gate.slug}", {"title": "hacked"}),
        ("put", f"{LIST}{gate.slug}", {"slug": gate.slug, "title": "hacked"}),
        ("delete", f"{LIST}{gate.slug}", None),
    ]:
        response = _send(api, method, url, body or {}, headers)
        assert response.status_code in (401, 403), (method, url)
        assert_error(response, response.status_code)
    assert _snapshot(gate.slug) == before
    assert Gate.objects.count() == 1


def test_session_auth_without_csrf_is_403_in_the_shape() -> None:
    marketer = make_marketer()
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer.user)
    assert client.get(LIST).status_code == 200
    response = client.post(LIST, data=json.dumps(_body()), content_type="application/json")
    assert_error(response, 403)
    assert not Gate.objects.exists()


# --- bad input on create ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["{", '{"slug": "x",}', "", b"\xff\xfe", '{"slug": NaN}'])
def test_malformed_json(api: Client, auth, raw) -> None:
    assert_error(_send(api, "post", LIST, raw, auth), 400)
    assert not Gate.objects.exists()


@pytest.mark.parametrize("body", [[], [{"slug": "a"}], "str", 1, None, True])
def test_non_object_bodies(api: Client, auth, body) -> None:
    assert_error(_send(api, "post", LIST, json.dumps(body), auth), 400)
    assert not Gate.objects.exists()


BAD_FIELDS = [
    ({"slug": "Not A Slug"}, "slug"),
    ({"slug": "-starts-with-dash"}, "slug"),
    ({"slug": "a" * 81}, "slug"),
    ({"slug": "a\x00b"}, "slug"),
    ({"slug": None}, "slug"),
    ({"slug": ["a"]}, "slug"),
    ({"slug": "sl\u00fcg"}, "slug"),
    ({"title": None}, "title"),
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"title": {"en": "x"}}, "title"),
    ({"title": "T\x00"}, "title"),
    ({"stage": "later"}, "stage"),
    ({"stage": None}, "stage"),
    ({"stage": ["interest"]}, "stage"),
    ({"headline": "x" * 301}, "headline"),
    ({"description": "x" * 20_001}, "description"),
    ({"description": "a\x00"}, "description"),
    ({"subscribe_label": "x" * 201}, "subscribe_label"),
    ({"submit_label": ""}, "submit_label"),
    ({"consent_text": "x" * 2001}, "consent_text"),
    ({"allowed_origins": "https://www.example.com"}, "allowed_origins"),
    ({"allowed_origins": {"a": "https://www.example.com"}}, "allowed_origins"),
    ({"allowed_origins": ["https://www.example.com/path"]}, "allowed_origins.0"),
    ({"allowed_origins": ["www.example.com"]}, "allowed_origins.0"),
    ({"allowed_origins": ["javascript:alert(1)"]}, "allowed_origins.0"),
    ({"allowed_origins": ["https://user:pw@example.com"]}, "allowed_origins.0"),
    ({"allowed_origins": ["https://ok.example.com", "*"]}, "allowed_origins.1"),
    ({"allowed_origins": ["https://a.example.com\x00"]}, "allowed_origins.0"),
    ({"allowed_origins": [None]}, "allowed_origins.0"),
    ({"allowed_origins": [f"https://o{i}.example.com" for i in range(51)]}, "allowed_origins"),
    ({"min_dwell_ms": "abc"}, "min_dwell_ms"),
    ({"min_dwell_ms": True}, "min_dwell_ms"),
    ({"min_dwell_ms": -1}, "min_dwell_ms"),
    ({"min_dwell_ms": 10**12}, "min_dwell_ms"),
    ({"min_dwell_ms": 1.5}, "min_dwell_ms"),
    ({"min_dwell_ms": None}, "min_dwell_ms"),
    ({"idle_timeout_ms": 4999}, "idle_timeout_ms"),
    ({"idle_timeout_ms": 3_600_001}, "idle_timeout_ms"),
    ({"idle_timeout_ms": "soon"}, "idle_timeout_ms"),
    ({"idle_timeout_ms": None}, "idle_timeout_ms"),
    ({"is_active": "maybe"}, "is_active"),
    ({"is_active": None}, "is_active"),
    ({"sections": {"key": "a"}}, "sections.__all__"),
    ({"sections": "a,b"}, "sections.__all__"),
    ({"sections": [1]}, "sections.0.__all__"),
    ({"sections": [{"title": "no key"}]}, "sections.0.key"),
    ({"sections": [{"key": "Bad Key", "title": "t"}]}, "sections.0.key"),
    ({"sections": [{"key": "a\x00", "title": "t"}]}, "sections.0.key"),
    ({"sections": [{"key": "a", "title": "t", "topics": "fibre"}]}, "sections.0.topics"),
    ({"sections": [{"key": "a", "title": "t", "topics": ["x\x00"]}]}, "sections.0.topics.0"),
    ({"sections": [{"key": "a", "title": "t", "body": "x" * 100_001}]}, "sections.0.body"),
    ({"sections": [{"key": f"s{i}", "title": "t"} for i in range(201)]}, "sections.__all__"),
    ({"sections": [{"key": "a", "title": "A"}, {"key": "a", "title": "B"}]}, "sections.1.key"),
    ({"files": [{"key": "f", "title": "F"}]}, "files.0"),
    ({"files": [{"key": "f", "title": "F", "url": "javascript:alert(1)"}]}, "files.0.url"),
    ({"files": [{"key": "f", "title": "F", "url": "not a url"}]}, "files.0.url"),
    ({"files": [{"key": "f", "title": "F", "url": "https://a.example.com/\x00"}]}, "files.0.url"),
    (
        {
            "files": [
                {"key": "f", "title": "F", "upload": {"name": "f.pdf", "content_base64": "!!"}}
            ]
        },
        "files.0.upload",
    ),
    ({"files": [{"key": "f", "title": "F", "upload": "base64?"}]}, "files.0.upload.__all__"),
    ({"fields": [{"name": "sites"}]}, "fields.0.label"),
    ({"fields": [{"name": "sites", "label": "Sites?", "type": "date"}]}, "fields.0.type"),
    ({"fields": [{"name": "sites", "label": "x", "choices": "a,b"}]}, "fields.0.choices"),
    (
        {"fields": [{"name": "q", "label": "Pick", "type": "choice", "choices": ["a"]}]},
        "fields.0.choices",
    ),
    ({"fields": [{"name": "q", "label": "Pick", "choices": ["a\x00", "b"]}]}, "fields.0.choices.0"),
    ({"fields": [{"name": "Bad Name", "label": "Tell us more"}]}, "fields.0.name"),
    ({"fields": [{"name": "email", "label": "Tell us more"}]}, "fields.0.name"),
    (
        {"fields": [{"name": "q", "label": "Tell us more"}, {"name": "q", "label": "More?"}]},
        "fields.1.name",
    ),
    (
        {"fields": [{"name": f"q{i}", "label": "Tell us more"} for i in range(3)]},
        "fields",
    ),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_FIELDS)
def test_bad_fields_on_create(api: Client, auth, overrides: dict, field: str) -> None:
    assert_error(_send(api, "post", LIST, _body(**overrides), auth), 400, field)
    assert not Gate.objects.exists()
    assert not Section.objects.exists()


@pytest.mark.parametrize(
    ("label", "topic_hint"),
    [
        ("Company name", "email domain"),
        ("Your phone number", "phone"),
        ("Job title", "job title"),
        ("What is your budget?", "budget"),
        ("Street address", "address"),
        ("Level of interest", "interest"),
        ("Téléphone", "phone"),
    ],
)
def test_banned_question_refused_with_why_and_what_is_inferred(
    api: Client, auth, label: str, topic_hint: str
) -> None:
    body = _body(fields=[{"name": "q1", "label": label}])
    errors = assert_error(_send(api, "post", LIST, body, auth), 400, "fields.0")
    message = errors["fields.0"][0]
    assert message.startswith("leadgate does not ask for")
    assert topic_hint in message
    assert not Gate.objects.exists()


@pytest.mark.parametrize("stage", ["interest", "epiphany"])
def test_custom_questions_only_on_decision_gates(api: Client, auth, stage: str) -> None:
    body = _body(stage=stage)
    errors = assert_error(_send(api, "post", LIST, body, auth), 400, "fields")
    assert "decision" in errors["fields"][0]
    assert not Gate.objects.exists()


def test_duplicate_slug_refused_and_original_untouched(api: Client, auth) -> None:
    gate = make_gate(title="Original")
    before = _snapshot(gate.slug)
    assert_error(_send(api, "post", LIST, _body(slug=gate.slug), auth), 400, "slug")
    assert _snapshot(gate.slug) == before
    assert Gate.objects.count() == 1


def test_oversized_body_is_413(api: Client, auth) -> None:
    response = _send(api, "post", LIST, _body(description="x" * 700_000), auth)
    assert_error(response, 413)
    assert not Gate.objects.exists()


def test_deep_nesting_is_400(api: Client, auth) -> None:
    assert_error(_send(api, "post", LIST, "[" * 20_000 + "]" * 20_000, auth), 400)


def test_moderately_nested_values_are_field_errors(api: Client, auth) -> None:
    deep: Any = "x"
    for _ in range(60):
        deep = [deep]
    assert_error(_send(api, "post", LIST, _body(title=deep), auth), 400, "title")
    assert not Gate.objects.exists()


# --- bad input on update: nothing changes -------------------------------------------------


@pytest.mark.parametrize(("overrides", "field"), BAD_FIELDS[:40:3])
def test_bad_patch_leaves_the_gate_as_it_was(
    api: Client, auth, overrides: dict, field: str
) -> None:
    gate = make_gate(stage="decision", questions=(("sites", "How many sites?"),))
    before = _snapshot(gate.slug)
    body = {"title": "Changed", **overrides}
    response = _send(api, "patch", f"{LIST}{gate.slug}", body, auth)
    assert_error(response, 400, field)
    assert _snapshot(gate.slug) == before


@pytest.mark.parametrize(
    "body",
    [
        {"title": "Changed", "fields": [{"name": "employer", "label": "Who do you work for?"}]},
        {
            "title": "Changed",
            "sections": [{"key": "ok", "title": "x"}, {"key": "Bad!", "title": "y"}],
        },
        {
            "title": "Changed",
            "sections": [{"key": "dup", "title": "x"}, {"key": "dup", "title": "y"}],
        },
        {"title": "Changed", "files": [{"key": "new", "title": "no url"}]},
        {"title": "Changed", "stage": "interest"},  # still has a custom question
        {"title": "Changed", "fields": [{"name": f"q{i}", "label": "More?"} for i in range(3)]},
        {"title": "Changed", "allowed_origins": ["ftp://x.example.com"]},
    ],
)
def test_rejected_update_keeps_gate_and_children(api: Client, auth, body: dict) -> None:
    gate = make_gate(stage="decision", questions=(("sites", "How many sites?"),))
    before = _snapshot(gate.slug)
    assert_error(_send(api, "patch", f"{LIST}{gate.slug}", body, auth), 400)
    assert_error(_send(api, "put", f"{LIST}{gate.slug}", {"slug": gate.slug, **body}, auth), 400)
    assert _snapshot(gate.slug) == before


# Each nested item is validated whole on PATCH too: DRF hands the root's `partial` down to
# nested serializers, so these once reached the service half-made (TypeError, KeyError: 500).
NESTED_SHAPES = [
    ({"sections": [{"title": "no key"}]}, "sections.0.key"),
    ({"sections": [{"key": "a"}]}, "sections.0.title"),
    ({"sections": [{}]}, "sections.0.key"),
    ({"sections": [{"key": "a", "title": "A"}, {"body": "only a body"}]}, "sections.1.title"),
    ({"sections": [None]}, "sections.0"),
    ({"sections": None}, "sections"),
    ({"sections": "a,b"}, "sections.__all__"),
    ({"sections": [1]}, "sections.0.__all__"),
    ({"sections": [{"key": None, "title": "x"}]}, "sections.0.key"),
    ({"sections": [{"key": ["a"], "title": "x"}]}, "sections.0.key"),
    ({"sections": [{"key": "a", "title": "x", "topics": None}]}, "sections.0.topics"),
    ({"sections": [{"key": "a", "title": "x", "topics": 3}]}, "sections.0.topics"),
    ({"files": [{"title": "no key", "url": "https://a.example.com/x.pdf"}]}, "files.0.key"),
    ({"files": [{"key": "network-map"}]}, "files.0.title"),
    ({"files": [{}]}, "files.0.key"),
    ({"files": [{"key": "f", "title": "F", "upload": {}}]}, "files.0.upload.name"),
    (
        {"files": [{"key": "f", "title": "F", "upload": {"name": "f.pdf"}}]},
        "files.0.upload.content_base64",
    ),
    (
        {"files": [{"key": "f", "title": "F", "upload": {"content_base64": "aGk="}}]},
        "files.0.upload.name",
    ),
    ({"files": [{"key": "f", "title": "F", "upload": None}]}, "files.0.upload"),
    ({"files": [{"key": "f", "title": "F", "url": None}]}, "files.0.url"),
    ({"files": [{"key": "f", "title": "F", "url": 5}]}, "files.0.url"),
    ({"files": None}, "files"),
    ({"files": {"key": "f"}}, "files.__all__"),
    ({"fields": [{"name": "sites"}]}, "fields.0.label"),
    ({"fields": [{"label": "How many sites?"}]}, "fields.0.name"),
    ({"fields": [{}]}, "fields.0.name"),
    ({"fields": [{"name": "q", "label": "Pick", "type": None}]}, "fields.0.type"),
    ({"fields": [{"name": "q", "label": "Pick", "type": "choice"}]}, "fields.0.choices"),
    ({"fields": [{"name": "q", "label": "Pick", "choices": None}]}, "fields.0.choices"),
    ({"fields": [{"name": "q", "label": ["Pick"]}]}, "fields.0.label"),
    ({"fields": None}, "fields"),
    ({"fields": "sites"}, "fields.__all__"),
    ({"allowed_origins": None}, "allowed_origins"),
    ({"allowed_origins": [5]}, "allowed_origins.0"),
]


@pytest.mark.parametrize(("overrides", "field"), NESTED_SHAPES)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_incomplete_nested_items_are_400_and_change_nothing(
    api: Client, auth, method: str, overrides: dict, field: str
) -> None:
    gate = make_gate(stage="decision", questions=(("sites", "How many sites?"),))
    before = _snapshot(gate.slug)
    body = {"slug": gate.slug, "title": "Changed", **overrides}
    assert_error(_send(api, method, f"{LIST}{gate.slug}", body, auth), 400, field)
    assert _snapshot(gate.slug) == before


@pytest.mark.parametrize(("overrides", "field"), NESTED_SHAPES)
def test_incomplete_nested_items_are_400_on_create(
    api: Client, auth, overrides: dict, field: str
) -> None:
    assert_error(_send(api, "post", LIST, _body(**overrides), auth), 400, field)
    assert not Gate.objects.exists()


def test_patch_with_whole_items_still_fills_their_defaults(api: Client, auth) -> None:
    gate = make_gate(stage="decision", sections=["a"], files=())
    response = _send(
        api,
        "patch",
        f"{LIST}{gate.slug}",
        {
            "sections": [{"key": "a", "title": "A"}],
            "fields": [{"name": "sites", "label": "How many sites?"}],
        },
        auth,
    )
    assert response.status_code == 200, response.content
    assert response.json()["sections"] == [{"key": "a", "title": "A", "body": "", "topics": []}]
    assert response.json()["fields"][0]["type"] == "text"


# --- generated malformed bodies: never a 500, nothing stored on a 400 -----------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["a", "why-fiber", "choice", "text", "https://files.example.com/m.pdf"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
_item_keys = st.sampled_from(
    ["key", "title", "body", "topics", "url", "upload", "name", "label", "type", "choices", "x"]
)
_upload = st.fixed_dictionaries(
    {}, optional={"name": _json, "content_base64": st.one_of(_json, st.just("aGk="))}
)
_item = st.one_of(
    _json,
    st.dictionaries(_item_keys, st.one_of(_json, _upload), max_size=5),
)
_children = st.one_of(_json, st.lists(_item, max_size=3))
_nested = st.fixed_dictionaries(
    {},
    optional={
        "sections": _children,
        "files": _children,
        "fields": _children,
        "allowed_origins": _json,
        "stage": st.one_of(_json, st.sampled_from(["epiphany", "interest", "decision"])),
    },
)
_GENERATED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_GENERATED
@given(overrides=_nested)
def test_generated_bodies_on_create_never_500(
    api: Client, auth, settings_media: None, overrides: dict
) -> None:
    count = Gate.objects.count()
    body = {"slug": random_slug(), "title": "Generated", "stage": "decision", **overrides}
    response = _send(api, "post", LIST, body, auth)
    assert response.status_code in (201, 400), (overrides, response.content[:300])
    if response.status_code == 400:
        assert_error(response, 400)
        assert Gate.objects.count() == count


@_GENERATED
@given(overrides=_nested)
def test_generated_bodies_on_update_never_500(
    api: Client, auth, settings_media: None, overrides: dict
) -> None:
    gate = Gate.objects.filter(slug="generated").first() or make_gate(
        slug="generated", stage="decision", questions=(("sites", "How many sites?"),)
    )
    for method in ("patch", "put"):
        before = _snapshot(gate.slug)
        body = {"slug": gate.slug, "title": "Generated", **overrides}
        response = _send(api, method, f"{LIST}{gate.slug}", body, auth)
        assert response.status_code in (200, 400), (method, overrides, response.content[:300])
        if response.status_code == 400:
            assert_error(response, 400)
            assert _snapshot(gate.slug) == before


def test_rename_to_an_existing_slug_is_refused(api: Client, auth) -> None:
    first, second = make_gate(), make_gate()
    before = (_snapshot(first.slug), _snapshot(second.slug))
    response = _send(api, "patch", f"{LIST}{first.slug}", {"slug": second.slug}, auth)
    assert_error(response, 400, "slug")
    assert (_snapshot(first.slug), _snapshot(second.slug)) == before


def test_put_requires_the_required_fields(api: Client, auth) -> None:
    gate = make_gate()
    before = _snapshot(gate.slug)
    assert_error(_send(api, "put", f"{LIST}{gate.slug}", {"title": "x"}, auth), 400, "slug")
    assert _snapshot(gate.slug) == before


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@pytest.mark.parametrize("slug", ["no-such-gate", "NOPE", "a" * 300, "%00"])
def test_unknown_slug_is_404(api: Client, auth, method: str, slug: str) -> None:
    response = _send(api, method, f"{LIST}{slug}", {"slug": "x", "title": "t"}, auth)
    assert_error(response, 404)


def test_405_on_the_collection(api: Client, auth) -> None:
    assert_error(_send(api, "delete", LIST, {}, auth), 405)
    assert_error(_send(api, "put", LIST, {}, auth), 405)

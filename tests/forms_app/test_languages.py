"""A gate's `language`: every page, error and email a visitor reads is in it.

German is checked end to end (hosted page, iframe, form errors on the page and from the
API, the embed's words in the public config, the content and confirmation emails, the
confirmation and unsubscribe pages); French and Spanish by a smoke test; English stays
the default.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from forms_app.models import DEFAULT_CONSENT_TEXT, Gate, Language, Stage, Submission
from forms_app.services.confirmation import confirmation_token_make
from forms_app.services.submissions import SubmissionInput, submission_create
from profiling.models import EmailKind, Lead, OutboundEmail
from profiling.services.mail.unsubscribe import unsubscribe_token_make
from tests.support.api import assert_error
from tests.support.factories import DEFAULT_ORIGIN, make_gate, make_marketer, random_email
from tests.support.signing import signed_days_ago

pytestmark = pytest.mark.django_db

BASE = "https://leads.example-fibre.com"


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.LEADGATE_SUBMIT_LIMIT_PER_IP = 1000
    settings.LEADGATE_SUBMIT_LIMIT_PER_GATE = 1000
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.LEADGATE_BASE_URL = BASE


def _gate(language: str, **fields: Any) -> Gate:
    return make_gate(language=language, title="Glasfaser für Ihr Unternehmen", **fields)


def _submit_api(client: Client, gate: Gate, **overrides: Any) -> Any:
    body = {"name": "Ada Lovelace", "email": random_email(), "subscribe": True, "website": ""}
    body["visitor_id"] = str(uuid.uuid4())
    body.update(overrides)
    return client.post(
        f"/api/v1/public/gates/{gate.slug}/submissions",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Origin": DEFAULT_ORIGIN},
    )


# --- German, end to end -------------------------------------------------------------------


def test_a_german_gate_page_is_in_german(client: Client) -> None:
    gate = _gate(Language.DE)
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert '<html lang="de">' in html
    assert "Jetzt kostenlos lesen" in html
    assert '<label for="id_name">Name</label>' in html
    assert '<label for="id_email">Geschäftliche E-Mail</label>' in html
    # The default labels and notice are shown in the gate's language...
    assert "Senden Sie mir neue Inhalte zu diesem Thema" in html
    assert ">Inhalte erhalten</button>" in html
    assert "Wir senden Ihnen diese Inhalte per E-Mail." in html
    assert "Zum Inhalt springen" in html
    assert "We&#x27;ll email you" not in html
    assert "Read it now" not in html


def test_a_marketer_s_own_texts_are_shown_as_written(client: Client) -> None:
    gate = _gate(Language.DE, submit_label="Jetzt lesen", consent_text="Unser eigener Hinweis.")
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert ">Jetzt lesen</button>" in html
    assert "Unser eigener Hinweis." in html


def test_the_german_embed_iframe_is_in_german(client: Client) -> None:
    gate = _gate(Language.DE)
    html = client.get(f"/g/{gate.slug}/embed").content.decode()
    assert '<html lang="de">' in html
    assert "Jetzt kostenlos lesen" in html
    assert "Skip to content" not in html  # the iframe has no skip link in any language


def test_hosted_form_errors_are_in_german(client: Client) -> None:
    gate = _gate(Language.DE)
    response = client.post(f"/g/{gate.slug}", {"name": "", "email": "ada@", "website": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Bitte prüfen Sie das Formular" in html
    assert "Bitte geben Sie Ihren Namen ein." in html
    assert "Bitte geben Sie eine E-Mail-Adresse wie name@example.com ein." in html


def test_api_errors_are_in_german(client: Client) -> None:
    gate = _gate(Language.DE)
    response = _submit_api(client, gate, name="Ada\nLovelace", email="ada@")
    assert_error(response, 400)
    errors = response.json()["errors"]
    assert errors["name"] == ["Bitte verwenden Sie nur Buchstaben, Leerzeichen und Satzzeichen."]
    assert errors["email"][0].startswith(
        "Bitte geben Sie eine E-Mail-Adresse wie name@example.com ein"
    )
    missing = _submit_api(client, gate, name=None)
    assert_error(missing, 400)
    assert missing.json()["errors"]["name"] == ["Bitte geben Sie Ihren Namen ein."]


def test_the_public_config_gives_the_embed_its_words_in_german(client: Client) -> None:
    gate = _gate(Language.DE)
    data = client.get(
        f"/api/v1/public/gates/{gate.slug}", headers={"Origin": DEFAULT_ORIGIN}
    ).json()
    assert data["language"] == "de"
    assert data["submit_label"] == "Inhalte erhalten"
    assert data["consent_text"].startswith("Wir senden Ihnen diese Inhalte per E-Mail.")
    assert [f["label"] for f in data["fields"]][:2] == ["Name", "Geschäftliche E-Mail"]
    labels = data["labels"]
    assert labels["optional"] == "(optional)"
    assert labels["check_form"] == "Bitte prüfen Sie das Formular:"
    assert labels["name_required"] == "Bitte geben Sie Ihren Namen ein."
    assert labels["thanks"] == "Vielen Dank!"
    assert labels["open"] == "Glasfaser für Ihr Unternehmen öffnen"
    assert "{seconds}" in labels["too_many"]


def test_the_content_email_is_in_german(client: Client) -> None:
    gate = _gate(Language.DE)
    assert _submit_api(client, gate, subscribe=False).status_code == 201
    row = OutboundEmail.objects.get(kind=EmailKind.CONTENT_LINK)
    assert "Hallo Ada Lovelace," in row.text
    assert "hier sind die Inhalte, die Sie angefordert haben:" in row.text
    assert "Um keine E-Mails mehr von uns zu erhalten:" in row.text
    assert '<html lang="de">' in row.html
    assert ">Inhalte öffnen</a>" in row.html
    assert "Hello" not in row.text


def test_the_confirmation_email_and_page_are_in_german(client: Client) -> None:
    gate = _gate(Language.DE, double_opt_in=True)
    assert _submit_api(client, gate, subscribe=True).status_code == 201
    row = OutboundEmail.objects.get(kind=EmailKind.CONFIRMATION)
    assert row.subject == "Bitte bestätigen Sie Ihr Abonnement"
    assert "Wenn Sie das waren, bestätigen Sie es bitte hier" in row.text
    assert "Mein Abonnement bestätigen" in row.html
    submission = Submission.objects.get(gate=gate)
    token = confirmation_token_make(submission_id=submission.pk)
    page = client.get(f"/confirm/{token}").content.decode()
    assert '<html lang="de">' in page
    assert "Bestätigen Sie Ihr Abonnement" in page
    assert "Ja, ich möchte abonnieren" in page
    done = client.post(f"/confirm/{token}").content.decode()
    assert (
        "Sie haben neue Inhalte zu &bdquo;Glasfaser für Ihr Unternehmen&ldquo; abonniert." in done
    )


def test_the_submission_keeps_the_notice_as_the_visitor_read_it(client: Client) -> None:
    gate = _gate(Language.DE)
    assert gate.consent_text == DEFAULT_CONSENT_TEXT  # stored in English
    assert _submit_api(client, gate).status_code == 201
    assert Submission.objects.get(gate=gate).consent_text.startswith(
        "Wir senden Ihnen diese Inhalte per E-Mail."
    )


def test_the_unsubscribe_page_speaks_the_lead_s_first_gate_language(client: Client) -> None:
    german = _gate(Language.DE)
    french = _gate(Language.FR)
    email = random_email()
    for gate in (german, french):
        result = submission_create(
            gate=gate, data=SubmissionInput(name="Ada", email=email, subscribe=True)
        )
    token = unsubscribe_token_make(lead_id=result.lead_id)
    page = client.get(f"/u/{token}").content.decode()
    assert '<html lang="de">' in page
    assert "Sie erhalten von uns keine E-Mails mehr über neue Inhalte." in page
    done = client.post(f"/u/{token}").content.decode()
    assert "Sie haben sich abgemeldet" in done
    # A link that names no lead: English.
    assert "This link is not valid" in client.get("/u/forged").content.decode()


def test_not_found_and_forbidden_file_pages_of_a_german_gate(client: Client) -> None:
    gate = _gate(Language.DE, files=["network-map"])
    forbidden = client.get(f"/g/{gate.slug}/files/network-map")
    assert forbidden.status_code == 403
    assert "Zugang zu Glasfaser für Ihr Unternehmen erhalten" in forbidden.content.decode()
    missing = client.get(f"/g/{gate.slug}/files/nothing-here")
    assert missing.status_code == 404
    assert "Diese Seite ist nicht verfügbar" in missing.content.decode()


# --- pages no gate decides: the email's language, then the browser's ------------------


def _old(make: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A link made eight days ago (confirmation links work for seven)."""
    return signed_days_ago(make, monkeypatch, 8)


def test_every_email_to_a_person_records_its_language(client: Client) -> None:
    gate = _gate(Language.DE, double_opt_in=True)
    assert _submit_api(client, gate, subscribe=True).status_code == 201
    rows = OutboundEmail.objects.filter(lead__isnull=False)
    assert {row.kind: row.language for row in rows} == {
        EmailKind.CONTENT_LINK: "de",
        EmailKind.CONFIRMATION: "de",
    }


@pytest.mark.parametrize(
    ("accept", "lang", "words"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Dieser Link ist ungültig"),
        ("fr-CH, fr;q=0.9", "fr", "Ce lien n\u2019est pas valide"),
        ("es", "es", "Este enlace no es válido"),
        ("ja, zh;q=0.8", "en", "This link is not valid"),  # none shipped: English
        ("", "en", "This link is not valid"),
    ],
)
def test_a_forged_link_speaks_the_browser_s_language(
    client: Client, accept: str, lang: str, words: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    for path in ("/confirm/forged", "/u/forged"):
        response = client.get(path, headers=headers)
        assert response.status_code == 400
        html = response.content.decode()
        assert f'<html lang="{lang}">' in html, path
        assert words in html, path
        # Shared caches must not hand one browser's language to another.
        assert "Accept-Language" in response["Vary"], path


def test_a_confirmation_link_whose_gate_was_deleted_speaks_its_email_s_language(
    client: Client,
) -> None:
    gate = _gate(Language.DE, double_opt_in=True)
    assert _submit_api(client, gate, subscribe=True).status_code == 201
    email = OutboundEmail.objects.get(kind=EmailKind.CONFIRMATION)
    link = re.search(r"/confirm/[A-Za-z0-9_:-]+", email.text)
    assert link is not None
    gate.delete()  # its submissions go with it: no row names a language any more
    for method in ("get", "post"):
        response = getattr(client, method)(link.group(0), headers={"Accept-Language": "fr"})
        assert response.status_code == 404
        html = response.content.decode()
        assert '<html lang="de">' in html  # the email's, not the browser's
        assert "Nichts zu bestätigen" in html
        assert "Accept-Language" not in response.get("Vary", "")


def test_a_link_made_before_the_language_was_recorded_speaks_the_browser_s(
    client: Client,
) -> None:
    gate = _gate(Language.DE)
    submission_create(
        gate=gate, data=SubmissionInput(name="Ada", email=random_email(), subscribe=True)
    )
    submission = Submission.objects.get(gate=gate)
    token = confirmation_token_make(submission_id=submission.pk)  # no language in it
    gate.delete()
    response = client.get(f"/confirm/{token}", headers={"Accept-Language": "es-MX,es"})
    assert response.status_code == 404
    assert '<html lang="es">' in response.content.decode()
    assert "Accept-Language" in response["Vary"]


def test_an_expired_link_speaks_its_gate_s_language_even_when_the_gate_is_archived(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _gate(Language.DE)
    submission_create(
        gate=gate, data=SubmissionInput(name="Ada", email=random_email(), subscribe=True)
    )
    submission = Submission.objects.get(gate=gate)
    old = _old(lambda: confirmation_token_make(submission_id=submission.pk), monkeypatch)
    Gate.objects.filter(pk=gate.pk).update(is_active=False)
    response = client.get(f"/confirm/{old}", headers={"Accept-Language": "fr"})
    assert response.status_code == 410
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Dieser Link ist abgelaufen" in html
    assert f'href="/g/{gate.slug}"' not in html  # an archived form is not offered again


def test_an_expired_link_whose_gate_was_deleted_speaks_its_email_s_language(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _gate(Language.FR)
    submission_create(
        gate=gate, data=SubmissionInput(name="Ada", email=random_email(), subscribe=True)
    )
    submission = Submission.objects.get(gate=gate)
    old = _old(
        lambda: confirmation_token_make(submission_id=submission.pk, language="fr"), monkeypatch
    )
    gate.delete()
    response = client.get(f"/confirm/{old}", headers={"Accept-Language": "de"})
    assert response.status_code == 410
    assert '<html lang="fr">' in response.content.decode()
    assert "Ce lien a expiré" in response.content.decode()


def test_the_unsubscribe_page_of_a_lead_whose_gates_are_gone_speaks_their_email_s(
    client: Client,
) -> None:
    gate = _gate(Language.ES)
    assert _submit_api(client, gate, subscribe=True).status_code == 201
    lead_id = OutboundEmail.objects.get(kind=EmailKind.CONTENT_LINK).lead_id
    assert lead_id is not None
    gate.delete()
    token = unsubscribe_token_make(lead_id=lead_id)
    page = client.get(f"/u/{token}", headers={"Accept-Language": "de"})
    assert '<html lang="es">' in page.content.decode()
    assert "¿Darse de baja?" in page.content.decode()
    assert "Accept-Language" not in page.get("Vary", "")


def test_the_unsubscribe_page_of_an_erased_lead_speaks_the_browser_s(client: Client) -> None:
    gate = _gate(Language.ES)
    result = submission_create(
        gate=gate, data=SubmissionInput(name="Ada", email=random_email(), subscribe=True)
    )
    token = unsubscribe_token_make(lead_id=result.lead_id)
    Lead.objects.filter(pk=result.lead_id).delete()  # erased: no gate, no email left
    gone = client.post(f"/u/{token}", headers={"Accept-Language": "fr"})
    assert gone.status_code == 404
    assert "Aucun abonnement à résilier" in gone.content.decode()
    refused = client.put(f"/u/{token}", headers={"Accept-Language": "de"})
    assert refused.status_code == 405
    assert "Nicht erlaubt" in refused.content.decode()


def test_the_workspace_stays_in_english_whatever_the_browser_asks(client: Client) -> None:
    client.force_login(make_marketer().user)
    headers = {"Accept-Language": "de"}
    workspace = client.get("/app/", headers=headers)
    assert workspace.status_code == 200
    assert '<html lang="en"' in workspace.content.decode()
    response = client.post(
        "/api/v1/gates",
        data=json.dumps({"slug": "x", "title": "T", "language": "xx"}),
        content_type="application/json",
        headers=headers,
    )
    assert_error(response, 400, "language")
    assert response.json()["errors"]["language"] == ['"xx" is not a valid choice.']


# --- French and Spanish, English by default -----------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (Language.FR, ["Lisez-le maintenant, gratuitement", "Recevoir le contenu", "Nom"]),
        (Language.ES, ["Léalo ahora, gratis", "Obtener el contenido", "Nombre"]),
    ],
)
def test_french_and_spanish_gates(client: Client, language: str, words: list[str]) -> None:
    gate = _gate(language)
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert f'<html lang="{language}">' in html
    for word in words:
        assert word in html
    response = _submit_api(client, gate, name="")
    assert_error(response, 400)
    with translation.override(language):
        from forms_app import visitor_messages as say

        assert response.json()["errors"]["name"] == [str(say.NAME_REQUIRED)]
    assert response.json()["errors"]["name"][0] != "Enter your name."


def test_english_is_the_default(client: Client) -> None:
    gate = make_gate()
    assert gate.language == "en"
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert '<html lang="en">' in html
    assert "Read it now, free" in html
    data = client.get(
        f"/api/v1/public/gates/{gate.slug}", headers={"Origin": DEFAULT_ORIGIN}
    ).json()
    assert data["language"] == "en"
    assert data["labels"]["thanks"] == "Thanks!"


def test_a_visitor_s_browser_language_does_not_change_the_gate_s(client: Client) -> None:
    gate = _gate(Language.DE)
    html = client.get(f"/g/{gate.slug}", headers={"Accept-Language": "fr"}).content.decode()
    assert "Jetzt kostenlos lesen" in html


# --- the marketer's side ------------------------------------------------------------------


def test_the_gate_api_sets_and_validates_the_language(client: Client) -> None:
    client.force_login(make_marketer().user)
    body = {"slug": "de-guide", "title": "Leitfaden", "language": "de"}
    created = client.post("/api/v1/gates", data=json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["language"] == "de"
    assert Gate.objects.get(slug="de-guide").language == "de"
    bad = client.post(
        "/api/v1/gates",
        data=json.dumps({**body, "slug": "xx-guide", "language": "xx"}),
        content_type="application/json",
    )
    assert_error(bad, 400, "language")
    assert not Gate.objects.filter(slug="xx-guide").exists()
    default = client.post(
        "/api/v1/gates",
        data=json.dumps({"slug": "en-guide", "title": "Guide"}),
        content_type="application/json",
    )
    assert default.json()["language"] == "en"


def test_the_decision_question_placeholder_is_translated(client: Client) -> None:
    gate = make_gate(stage=Stage.DECISION, language=Language.DE)
    gate.fields.create(name="size", label="Größe", type="choice", choices=["1-10", "11+"])
    html = client.get(f"/g/{gate.slug}").content.decode()
    assert re.search(r'<option value="">Bitte wählen</option>', html)

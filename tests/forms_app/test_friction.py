"""The friction guard: banned fields are refused by name or label, in any spelling.

Pure functions, no database: `banned_topic` and `friction_message`.
"""

from __future__ import annotations

import pytest

from forms_app.friction import BANNED, banned_topic, friction_message, normalise_words

# (text, topic it must be refused as)
REFUSED = [
    # phone
    ("phone", "phone"),
    ("Phone", "phone"),
    ("PHONE", "phone"),
    ("Phone number", "phone"),
    ("phone_number", "phone"),
    ("phone-number", "phone"),
    ("phoneNumber", "phone"),
    ("telephoneNumber", "phone"),
    ("mobile", "phone"),
    ("Mobile number", "phone"),
    ("mobileNumber", "phone"),
    ("mobile_phone", "phone"),
    ("cellphone", "phone"),
    ("Tel:", "phone"),
    ("Phone #", "phone"),
    ("What's your phone?", "phone"),
    ("phones", "phone"),
    ("teléfono", "phone"),
    ("Téléphone", "phone"),
    ("Número de teléfono", "phone"),
    ("numéro de téléphone", "phone"),
    ("Téléphone portable", "phone"),
    ("Teléfono móvil", "phone"),
    ("Telefonnummer", "phone"),
    ("Handynummer", "phone"),
    ("Celular", "phone"),
    ("Whatsapp number", "phone"),
    # fullwidth letters are folded by NFKD
    ("\uff30\uff48\uff4f\uff4e\uff45", "phone"),
    # address
    ("Address", "address"),
    ("Street address", "address"),
    ("addresses", "address"),
    ("addressLine1", "address"),
    ("ADDRESS_LINE_1", "address"),
    ("zipCode", "address"),
    ("postalCode", "address"),
    ("Zip", "address"),
    ("City", "address"),
    ("Adresse", "address"),
    ("Dirección", "address"),
    ("Postleitzahl", "address"),
    ("Indirizzo", "address"),
    ("Endereço", "address"),
    # job title
    ("Job title", "job title"),
    ("job_title", "job title"),
    ("jobTitle", "job title"),
    ("Title", "job title"),
    ("Role", "job title"),
    ("Your role", "job title"),
    ("position", "job title"),
    ("Intitulé de poste", "job title"),
    ("Poste occupé", "job title"),
    # company
    ("Company", "company"),
    ("company_name", "company"),
    ("companyName", "company"),
    ("CompanyName", "company"),
    ("company-name", "company"),
    ("organisation", "company"),
    ("Organization name", "company"),
    ("organisation_name", "company"),
    ("orgName", "company"),
    ("Firma", "company"),
    ("Empresa", "company"),
    ("Nombre de la empresa", "company"),
    ("Entreprise", "company"),
    ("Société", "company"),
    ("Unternehmen", "company"),
    ("Employer", "company"),
    ("Who do you work for?", "company"),
    ("Companies you work with", "company"),
    # level of interest
    ("Level of interest", "level of interest"),
    ("How interested are you?", "level of interest"),
    ("Interest", "level of interest"),
    ("Timeline", "level of interest"),
    ("What is your purchase timeframe?", "level of interest"),
    # budget
    ("Budget", "budget"),
    ("What is your budget?", "budget"),
    ("Budget owner?", "budget"),
    ("Presupuesto", "budget"),
    ("Which price range fits you?", "budget"),
]

# Must NOT be refused: real questions about the business issue, and words that merely
# contain a banned word.
ALLOWED = [
    "What role does connectivity play in your plans?",
    "companion",
    "Companion app",
    "Accompany",
    "How many sites need fibre?",
    "How many sites?",
    "sites_count",
    "Which topics interest you?",
    "Name",
    "e-mail",
    "Email",
    "microphone",
    "telephony",
    "Streaming quality",
    "Tell us more",
    "Title of the report you liked most",
    "addressable market",
    "Homepage",
    "Headcount",
    "",
]


@pytest.mark.parametrize(("text", "topic"), REFUSED)
def test_banned_words_are_refused_with_their_topic(text: str, topic: str) -> None:
    banned = banned_topic(text)
    assert banned is not None, f"{text!r} should be refused"
    assert banned.topic == topic


@pytest.mark.parametrize("text", ALLOWED)
def test_harmless_questions_are_not_refused(text: str) -> None:
    banned = banned_topic(text)
    assert banned is None, f"{text!r} wrongly refused as {banned.topic if banned else ''}"


def test_any_of_several_texts_triggers_the_guard() -> None:
    # name fine, label banned; and the other way round
    assert banned_topic("q1", "Your phone number").topic == "phone"  # type: ignore[union-attr]
    assert banned_topic("companyName", "Tell us more").topic == "company"  # type: ignore[union-attr]
    assert banned_topic("sites", "How many sites need fibre?") is None


def test_weak_words_are_banned_only_in_short_labels() -> None:
    assert banned_topic("Role") is not None
    assert banned_topic("City") is not None
    # The same words inside a real question are fine.
    assert banned_topic("What role does connectivity play in your plans?") is None
    assert banned_topic("Which city projects need connectivity most urgently?") is None


def test_normalise_words_splits_camel_and_snake_case_and_strips_accents() -> None:
    assert normalise_words("mobileNumber") == ["mobile", "number"]
    assert normalise_words("company_name") == ["company", "name"]
    assert normalise_words("Téléphone-Portable") == ["telephone", "portable"]
    assert normalise_words("  ") == []


def test_friction_message_says_why_and_what_is_inferred() -> None:
    company = next(b for b in BANNED if b.topic == "company")
    message = friction_message(company)
    assert message.startswith("leadgate does not ask for company")
    assert "email domain" in message
    phone = banned_topic("phone")
    assert phone is not None
    assert "behaviour" in friction_message(phone)


def test_every_banned_topic_of_the_contract_is_covered() -> None:
    topics = {b.topic for b in BANNED}
    assert topics == {"address", "job title", "company", "level of interest", "budget", "phone"}


@pytest.mark.parametrize("text", ["WhatsApp", "WhatsApp number"])
def test_whatsapp_in_camel_case_is_refused(text: str) -> None:
    banned = banned_topic(text)
    assert banned is not None
    assert banned.topic == "phone"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Firmenname", "company"),
        ("Mobiltelefon", "phone"),
        ("Jobtitel", "job title"),
        ("Postanschrift", "address"),
    ],
)
def test_german_compound_labels_are_refused(text: str, topic: str) -> None:
    banned = banned_topic(text)
    assert banned is not None
    assert banned.topic == topic


@pytest.mark.parametrize(
    "text",
    [
        "Business issue",
        "Main business goal",
        "What is your business issue?",
        "What problem does your business face?",
    ],
)
def test_questions_about_the_business_issue_are_allowed(text: str) -> None:
    assert banned_topic(text) is None


@pytest.mark.parametrize(
    "text",
    ["Business name", "businessName", "Your business", "Name of your business", "business"],
)
def test_business_name_is_still_the_company(text: str) -> None:
    banned = banned_topic(text)
    assert banned is not None
    assert banned.topic == "company"


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Telefoonnummer", "phone"),
        ("Handynr", "phone"),
        ("Cellular", "phone"),
        ("Adres", "address"),
        ("Bedrijfsnaam", "company"),
        ("Werkgever", "company"),
        ("Società", "company"),
        ("Arbeitgeber", "company"),
        ("Where do you work?", "company"),
        ("Functie", "job title"),
        ("Job", "job title"),
        ("Job level", "job title"),
        ("How soon are you buying?", "level of interest"),
        ("Wie interessiert sind Sie?", "level of interest"),
        ("Kaufinteresse", "level of interest"),
    ],
)
def test_more_languages_and_phrasings_are_refused(text: str, topic: str) -> None:
    banned = banned_topic(text)
    assert banned is not None, text
    assert banned.topic == topic


@pytest.mark.parametrize(
    "text",
    [
        "What is your biggest network challenge?",
        "How many sites need fibre?",
        "Which job does the network have to do first?",
        "Industry",
    ],
)
def test_questions_about_the_business_issue_still_pass(text: str) -> None:
    assert banned_topic(text) is None

"""The friction guard: leadgate refuses form fields that ask what it infers instead.

Contract: address, job title, company, level of interest, budget and phone may never be
asked, by name or label, synonyms and other languages' common words included. Matching
is on normalised words (accents stripped, camelCase and snake_case split), so "Téléphone",
"mobileNumber" and "company_name" are all caught while "companion" is not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Banned:
    topic: str
    why: str
    words: frozenset[str]
    phrases: tuple[str, ...] = ()
    # Ambiguous words ("role", "title", "city"): banned only in a short label or name,
    # where they can only mean the field itself, not in a longer question such as
    # "What role does connectivity play in your plans?".
    weak: frozenset[str] = frozenset()
    # Whole labels banned as they stand ("Your business"): the words alone are too common
    # in legitimate questions ("Main business goal", "Business issue") to ban by word.
    exact: frozenset[str] = frozenset()


BANNED: tuple[Banned, ...] = (
    Banned(
        "phone",
        "Phone numbers are the field people falsify most, and sales gets a better moment "
        "from behaviour: leadgate pushes hot leads the instant they act.",
        frozenset(
            [
                "phone",
                "phones",
                "telephone",
                "tel",
                "telefon",
                "telefono",
                "telephone",
                "telefone",
                "fone",
                "mobile",
                "mobil",
                "movil",
                "cell",
                "cellphone",
                "handy",
                "gsm",
                "portable",
                "celular",
                "whatsapp",
                "sms",
                "handynummer",
                "telefonnummer",
                "mobilnummer",
                "rufnummer",
                "mobiltelefon",
                "festnetz",
                "handynr",
                "cellular",
                "telefoon",
                "telefoonnummer",
                "mobiel",
                "mobielnummer",
                "gsmnummer",
                "cellulare",
            ]
        ),
        ("phone number", "numero de telephone", "cell number", "contact number", "whats app"),
    ),
    Banned(
        "address",
        "Nobody needs a postal address to read content; leadgate never sends snail mail.",
        frozenset(
            [
                "address",
                "addresse",
                "adresse",
                "adress",
                "direccion",
                "indirizzo",
                "endereco",
                "anschrift",
                "street",
                "strasse",
                "zipcode",
                "postcode",
                "postleitzahl",
                "postanschrift",
                "wohnort",
                "adres",
                "woonadres",
                "postadres",
                "woonplaats",
            ]
        ),
        ("post code", "codigo postal", "code postal", "zip code", "postal code"),
        frozenset(
            [
                "calle",
                "rue",
                "zip",
                "postal",
                "plz",
                "city",
                "town",
                "ciudad",
                "ville",
                "stadt",
                "country",
                "pais",
            ]
        ),
    ),
    Banned(
        "job title",
        "Titles are meaningless and a prime reason to lie; leadgate reads seniority of "
        "interest from what the visitor reads instead.",
        frozenset(
            [
                "jobtitle",
                "jobtitel",
                "designation",
                "seniority",
                "occupation",
                "berufsbezeichnung",
                "stellenbezeichnung",
                "functietitel",
            ]
        ),
        ("job title", "job role", "your role", "intitule de poste", "job function", "job level"),
        frozenset(
            [
                "title",
                "position",
                "role",
                "cargo",
                "puesto",
                "poste",
                "funktion",
                "titel",
                "functie",
                "job",
            ]
        ),
    ),
    Banned(
        "company",
        "leadgate infers the company from the email domain (free-mail addresses are left "
        "blank), so there is no need to ask.",
        frozenset(
            [
                "company",
                "companies",
                "organisation",
                "organization",
                "employer",
                "firma",
                "empresa",
                "entreprise",
                "societe",
                "azienda",
                "unternehmen",
                "compania",
                "employeur",
                "corporation",
                "firmenname",
                "unternehmensname",
                "arbeitgeber",
                "bedrijf",
                "bedrijfsnaam",
                "werkgever",
                "organisatie",
                "organizacion",
                "organizzazione",
                "societa",
                "empleador",
                "empregador",
            ]
        ),
        (
            "company name",
            "nom de l entreprise",
            "nombre de la empresa",
            "who do you work for",
            "where do you work",
            "who is your employer",
            "business name",
            "name of your business",
            "name of the business",
        ),
        frozenset(["org", "firm", "betrieb"]),
        frozenset(["business", "your business", "my business", "the business", "businesses"]),
    ),
    Banned(
        "level of interest",
        "Interest is measured, not declared: sections read and files downloaded set the "
        "lead's grade.",
        frozenset(),
        (
            "level of interest",
            "how interested",
            "purchase timeframe",
            "buying stage",
            "interest level",
            "nivel de interes",
            "niveau d interet",
            "how soon",
            "ready to buy",
            "plan to buy",
            "wie interessiert",
            "kaufbereitschaft",
        ),
        frozenset(
            [
                "interest",
                "interesse",
                "interes",
                "interet",
                "timeline",
                "timeframe",
                "urgency",
                "kaufinteresse",
            ]
        ),
    ),
    Banned(
        "budget",
        "Budget answers at this stage are guesses; sales qualifies budget in conversation.",
        frozenset(["budget", "budgets", "presupuesto"]),
        ("how much will you spend", "price range", "how much can you spend"),
        frozenset(["spend", "spending", "bilancio"]),
    ),
)

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


SHORT_LABEL_WORDS = 3


def _forms(word: str) -> tuple[str, ...]:
    """The word and its likely singulars ("phones" -> "phone", "addresses" -> "address")."""
    if len(word) > 3 and word.endswith("s"):
        return (word, word[:-1], word[:-2])
    return (word,)


def normalise_words(text: str) -> list[str]:
    text = _CAMEL.sub(" ", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return [w for w in _WORD_SPLIT.split(text) if w]


def banned_topic(*texts: str) -> Banned | None:
    """The first banned topic any of the texts asks about, else None."""
    for text in texts:
        words = normalise_words(text or "")
        joined = " ".join(words)
        short = len(words) <= SHORT_LABEL_WORDS
        for banned in BANNED:
            vocabulary = banned.words | banned.weak if short else banned.words
            # Plural tolerance: "phones", "addresses" match their singular.
            if any(f in vocabulary for w in words for f in _forms(w)):
                return banned
            if any(f" {p} " in f" {joined} " for p in banned.phrases):
                return banned
            if joined in banned.exact:
                return banned
    return None


def friction_message(banned: Banned) -> str:
    return f"leadgate does not ask for {banned.topic}: {banned.why}"

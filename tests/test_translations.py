"""The committed catalogs (locale/): complete, current, and compiled.

Visitors of a German, French or Spanish gate must never meet an English sentence or a
broken placeholder, and the runtime reads only the committed .mo files (no gettext tools
in production), so each .mo must say exactly what its .po says.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.po import PoEntry, po_entries

ROOT = Path(settings.BASE_DIR)
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
# What visitors read: their templates, and the Python that speaks to them.
VISITOR_TEMPLATES = [
    *sorted((ROOT / "forms_app/templates/forms_app").rglob("*.html")),
    *sorted((ROOT / "forms_app/templates/forms_app/email").glob("*.txt")),
    ROOT / "profiling/templates/profiling/unsubscribe.html",
]
VISITOR_PYTHON = [
    ROOT / "forms_app/api/public.py",
    ROOT / "forms_app/forms.py",
    ROOT / "forms_app/models.py",
    ROOT / "forms_app/stage_policy.py",
    *sorted((ROOT / "forms_app/views").glob("*.py")),
    ROOT / "forms_app/services/confirmation.py",
]
GETTEXT_CALLS = {"gettext", "gettext_lazy", "gettext_noop"}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


def _po(language: str) -> Path:
    return ROOT / "locale" / language / "LC_MESSAGES" / "django.po"


def _messages(language: str) -> list[PoEntry]:
    return [e for e in po_entries(_po(language)) if e.msgid]


def _source_msgids() -> set[str]:
    found: set[str] = set()
    for path in VISITOR_TEMPLATES:
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'{% translate "([^"]+)" %}', text))
    for path in VISITOR_PYTHON:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_CALLS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_there_is_a_catalog_per_language_and_something_to_check() -> None:
    assert LANGUAGES == ["de", "fr", "es"]
    assert len(_source_msgids()) > 50


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    entries = po_entries(_po(language))
    header = entries[0]
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    assert f"Language: {language}\n" in header.msgstr[0]
    plurals = re.search(r"Plural-Forms: nplurals=(\d);", header.msgstr[0])
    assert plurals is not None
    messages = _messages(language)
    assert len(messages) > 50
    for entry in messages:
        assert not entry.obsolete, entry.msgid
        assert "fuzzy" not in entry.flags, entry.msgid
        forms = list(range(int(plurals.group(1)))) if entry.msgid_plural else [0]
        assert sorted(entry.msgstr) == forms, entry.msgid
        for form in forms:
            assert entry.msgstr[form].strip(), f"{language}: untranslated {entry.msgid!r}"
            # Every placeholder survives translation (and none is invented).
            source = entry.msgid_plural if form else entry.msgid
            assert sorted(PLACEHOLDER.findall(entry.msgstr[form])) == sorted(
                PLACEHOLDER.findall(source)
            ), (language, entry.msgid)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_visitor_string_in_the_code_is_in_the_catalog(language: str) -> None:
    """A string marked in a template or in Python but missing here was never extracted:
    run makemessages (README) and translate it."""
    catalog = {entry.msgid for entry in _messages(language)}
    missing = sorted(_source_msgids() - catalog)
    assert not missing, f"{language}: not in the catalog: {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_matches_the_po(language: str) -> None:
    """Run compilemessages after editing a .po: the .mo is what the runtime reads."""
    mo = _po(language).with_suffix(".mo")
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    messages = _messages(language)
    for entry in messages:
        if entry.msgid_plural:
            assert compiled.ngettext(entry.msgid, entry.msgid_plural, 1) == entry.msgstr[0]
            assert compiled.ngettext(entry.msgid, entry.msgid_plural, 5) in entry.msgstr.values()
        else:
            assert compiled.gettext(entry.msgid) == entry.msgstr[0], entry.msgid
    # ...and holds nothing the .po no longer has.
    catalog = compiled._catalog  # type: ignore[attr-defined]
    compiled_ids = {key[0] if isinstance(key, tuple) else key for key in catalog} - {""}
    assert compiled_ids == {e.msgid for e in messages}

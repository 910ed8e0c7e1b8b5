"""A scoring rule read back as one sentence, for the rule editor and the rules list:
"10 points for each section of Network vBook read for 20 s, at most 60".

The wording follows the scoring engine's semantics (profiling/scoring_engine.py): a
section or a file counts once however often it is read or downloaded ("for each"), other
events count every time ("each time"); max_points caps the rule's total (towards zero for
a negative rule); makes_hot makes the lead hot whatever the score.
"""

from __future__ import annotations

from decimal import Decimal

from forms_app.models import GateFile, PdfChapter, Section
from profiling.models import ProfileCondition, ScoringRule

PROFILE_FACTS: dict[str, str] = {
    ProfileCondition.DISPOSABLE_EMAIL.value: "the lead uses a disposable email address",
    ProfileCondition.COMPANY_DOMAIN.value: "the lead has a company email domain",
}


def _points(n: int) -> str:
    return f"{n} point" if abs(n) == 1 else f"{n} points"


def _seconds(ms: int) -> str:
    whole, rest = divmod(ms, 1000)
    return (f"{whole}" if not rest else f"{Decimal(ms) / 1000}") + " s"


def _title(model: type[Section] | type[GateFile], rule: ScoringRule, key: str) -> str:
    """The section's or file's title when the rule names a gate that has it, else its key."""
    if rule.gate_id is not None:
        title = model.objects.filter(gate_id=rule.gate_id, key=key).values_list("title", flat=True)
        for found in title[:1]:
            return found
    return key


def _chapter_title(rule: ScoringRule) -> str:
    """The chapter's title (from the PDF's outline) when the file has it, else its key."""
    if rule.gate_id is not None:
        titles = PdfChapter.objects.filter(
            gate_file__gate_id=rule.gate_id, gate_file__key=rule.file_key, key=rule.section_key
        ).values_list("title", flat=True)
        for found in titles[:1]:
            return found
    return rule.section_key


def rule_sentence(rule: ScoringRule) -> str:
    """The rule in words. `rule` may be unsaved (a draft from the editor's form)."""
    gate = rule.gate.title if rule.gate_id is not None and rule.gate else "any gate"
    seconds = _seconds(rule.min_duration_ms) if rule.min_duration_ms else ""
    dwell = f" for {seconds}" if seconds else ""
    # Only events that carry a duration can match a minimum (a section read does).
    lasting = f" lasting at least {seconds}" if seconds else ""
    kind = rule.event_type
    if kind == "section_view" and rule.file_key:
        # Pages of a PDF read inline (forms_app/reader.py), or one chapter of them.
        file = _title(GateFile, rule, rule.file_key)
        if rule.section_key:
            chapter = _chapter_title(rule)
            what = f"when the chapter “{chapter}” of “{file}” ({gate}) is read{dwell}"
        else:
            what = f"for each page of “{file}” ({gate}) read{dwell}"
    elif kind == "section_view":
        if rule.section_key:
            name = _title(Section, rule, rule.section_key)
            what = f"when the section “{name}” of {gate} is read{dwell}"
        else:
            what = f"for each section of {gate} read{dwell}"
    elif kind == "download":
        if rule.file_key:
            name = _title(GateFile, rule, rule.file_key)
            what = f"when the file “{name}” of {gate} is downloaded{lasting}"
        else:
            what = f"for each file of {gate} downloaded{lasting}"
    elif kind == "page_view":
        what = f"each time a page of {gate} is viewed{lasting}"
    elif kind == "form_view":
        what = f"each time the form of {gate} is seen{lasting}"
    elif kind == "track":
        event = f"the event “{rule.event_name}”" if rule.event_name else "a custom event"
        what = f"each time {event} is tracked on {gate}{lasting}"
    elif kind == "profile":
        what = "if " + PROFILE_FACTS.get(rule.profile_condition, "the lead matches a profile fact")
    else:
        what = f"for each {kind} event"
    sentence = f"{_points(rule.points)} {what}"
    if rule.max_points is not None:
        sentence += f", at most {rule.max_points}" + (" off" if rule.points < 0 else "")
    if rule.makes_hot:
        sentence += "; makes hot"
    if not rule.is_active:
        sentence += " (off)"
    return sentence

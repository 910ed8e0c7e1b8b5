"""Creating and editing gates with their sections, files and custom questions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files import File
from django.db import transaction

from config.validators import origin_problem
from forms_app.friction import banned_topic, friction_message
from forms_app.models import (
    DEFAULT_CONSENT_TEXT,
    DEFAULT_CONSENT_TEXT_NO_EMAIL,
    FormField,
    Gate,
    GateFile,
    Section,
    Stage,
    default_consent_text,
)
from forms_app.pdf import PdfRefused, pdf_inspect
from forms_app.section_body import body_html, body_problems
from forms_app.services.pdf import gate_file_pdf_attach, pdf_too_large_message
from forms_app.stage_policy import MAX_CUSTOM_QUESTIONS

GATE_SCALARS = (
    "slug",
    "title",
    "stage",
    "headline",
    "description",
    "subscribe_label",
    "submit_label",
    "consent_text",
    "email_content",
    "double_opt_in",
    "allowed_origins",
    "min_dwell_ms",
    "idle_timeout_ms",
    "is_active",
    "language",
)
MAX_ALLOWED_ORIGINS = 50
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_TOO_LARGE = "Files are limited to 10 MB."


@dataclass
class SectionInput:
    key: str
    title: str
    body: str = ""
    topics: list[str] = field(default_factory=list)


@dataclass
class FileInput:
    key: str
    title: str
    url: str = ""
    upload: File | None = None
    # Read the PDF inline, page by page (None: as it is). With an upload, the upload is
    # that PDF; without, the file's current upload becomes readable inline.
    read_inline: bool | None = None


@dataclass
class FieldInput:
    name: str
    label: str
    type: str = "text"
    choices: list[str] = field(default_factory=list)


def gate_fields_check(*, stage: str, fields: list[FieldInput]) -> None:
    """Contract: custom questions only on decision gates, at most two, none banned."""
    errors: dict[str, list[str]] = {}
    if fields and stage != Stage.DECISION:
        errors["fields"] = [
            f"A {stage} gate asks only for name, email and the opt-in; custom questions "
            "are for decision-stage gates."
        ]
    if len(fields) > MAX_CUSTOM_QUESTIONS:
        errors["fields"] = [
            f"At most {MAX_CUSTOM_QUESTIONS} custom questions; they are asked one per visit."
        ]
    for index, f in enumerate(fields):
        banned = banned_topic(f.name, f.label, *f.choices)
        if banned is not None:
            errors[f"fields.{index}"] = [friction_message(banned)]
        if f.type == "choice" and len(f.choices) < 2:
            errors[f"fields.{index}.choices"] = ["A choice question needs at least two choices."]
        if f.name in {"name", "email", "subscribe", "website", "visitor_id"}:
            errors[f"fields.{index}.name"] = [f"{f.name!r} is a built-in field."]
    if errors:
        raise ValidationError(errors)


def gate_origins_clean(origins: list[str]) -> list[str]:
    """The sites allowed to embed a gate, as stored: exact web origins, lower-case, without
    a trailing slash, sorted and unique. ValidationError keyed `allowed_origins.<index>`
    for each entry that is not an origin like https://www.example.com."""
    if len(origins) > MAX_ALLOWED_ORIGINS:
        raise ValidationError({"allowed_origins": [f"At most {MAX_ALLOWED_ORIGINS} origins."]})
    problems = {
        f"allowed_origins.{index}": [problem]
        for index, origin in enumerate(origins)
        if (problem := origin_problem(origin))
    }
    if problems:
        raise ValidationError(problems)
    return sorted({o.strip().rstrip("/").lower() for o in origins})


def _sync_children(
    gate: Gate, model: Any, key_attr: str, label: str, items: list[dict[str, Any]]
) -> None:
    """Make the gate's children exactly `items`: update by key, create new, delete gone.

    Updating in place keeps ids stable, so existing links and events keep their meaning.
    A model check that fails names the item's path (`sections.1.key`), as the
    serializer's own errors do.
    """
    existing = {getattr(obj, key_attr): obj for obj in model.objects.filter(gate=gate)}
    wanted = {item[key_attr] for item in items}
    model.objects.filter(gate=gate).exclude(**{f"{key_attr}__in": wanted}).delete()
    for position, item in enumerate(items):
        obj = existing.get(item[key_attr]) or model(gate=gate)
        for attr, value in item.items():
            if value is not None or attr not in ("upload", "read_inline"):
                setattr(obj, attr, value)
        obj.position = position
        try:
            obj.full_clean(exclude=["gate"])
        except ValidationError as exc:
            raise ValidationError(
                {
                    f"{label}.{position}" + ("" if key == NON_FIELD_ERRORS else f".{key}"): errors
                    for key, errors in exc.message_dict.items()
                }
            ) from None
        obj.save()


def _check_unique(items: list[Any], attr: str, label: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            raise ValidationError({f"{label}.{index}.{attr}": [f"Duplicate {attr} {value!r}."]})
        seen.add(value)


def gate_save(
    *,
    gate: Gate | None = None,
    data: dict[str, Any],
    sections: list[SectionInput] | None = None,
    files: list[FileInput] | None = None,
    fields: list[FieldInput] | None = None,
) -> Gate:
    """Create (gate=None) or update a gate. Children lists given replace the old ones."""
    gate = gate or Gate()
    if "allowed_origins" in data:
        data = dict(data, allowed_origins=gate_origins_clean(list(data["allowed_origins"])))
    for attr in GATE_SCALARS:
        if attr in data:
            setattr(gate, attr, data[attr])
    if gate.consent_text in (DEFAULT_CONSENT_TEXT, DEFAULT_CONSENT_TEXT_NO_EMAIL):
        # A default notice follows the email setting: it never promises an email the
        # gate does not send. A marketer's own wording is theirs to keep right.
        gate.consent_text = default_consent_text(email_content=gate.email_content)
    stage = gate.stage
    if fields is not None:
        gate_fields_check(stage=stage, fields=fields)
    elif gate.pk and stage != Stage.DECISION and gate.fields.exists():
        raise ValidationError(
            {"stage": ["Remove the custom questions first: only decision gates ask them."]}
        )
    for items, attr, label in ((sections, "key", "sections"), (files, "key", "files")):
        if items:
            _check_unique(items, attr, label)
    if fields:
        _check_unique(fields, "name", "fields")
    pdfs: dict[str, tuple[bytes, str]] = {}  # file key -> the PDF read inline, its name
    body_errors = {
        f"sections.{index}.body": problems
        for index, s in enumerate(sections or [])
        if (problems := body_problems(s.body))
    }
    if body_errors:
        raise ValidationError(body_errors)
    for index, f in enumerate(files or []):
        if f.read_inline and f.upload is not None:
            pdfs[f.key] = (_pdf_checked(f.upload, index), f.upload.name or f"{f.key}.pdf")
        elif f.upload is not None and (f.upload.size or 0) > MAX_UPLOAD_BYTES:
            raise ValidationError({f"files.{index}.upload": [UPLOAD_TOO_LARGE]})
        if not f.url and f.upload is None:
            existing = gate.pk and GateFile.objects.filter(gate=gate, key=f.key).exists()
            if not existing:
                raise ValidationError({f"files.{index}": ["Give a url or an upload."]})
    with transaction.atomic():
        gate.full_clean(validate_unique=True)
        gate.save()
        if sections is not None:
            _sync_children(
                gate,
                Section,
                "key",
                "sections",
                [
                    {
                        "key": s.key,
                        "title": s.title,
                        "body": s.body,
                        "body_html": body_html(s.body),
                        "topics": s.topics,
                    }
                    for s in sections
                ],
            )
        if files is not None:
            _sync_children(
                gate,
                GateFile,
                "key",
                "files",
                [
                    {
                        "key": f.key,
                        "title": f.title,
                        "url": f.url,
                        # A PDF read inline is stored by gate_file_pdf_attach below.
                        "upload": None if f.key in pdfs else f.upload,
                        "read_inline": f.read_inline,
                    }
                    for f in files
                ],
            )
            _inline_pdfs_attach(gate, files, pdfs)
        if fields is not None:
            _sync_children(
                gate,
                FormField,
                "name",
                "fields",
                [
                    {"name": f.name, "label": f.label, "type": f.type, "choices": f.choices}
                    for f in fields
                ],
            )
    return gate


def _pdf_checked(upload: File, index: int) -> bytes:
    """The bytes of a PDF to read inline, or a ValidationError on its row saying why not."""
    if (upload.size or 0) > settings.LEADGATE_PDF_MAX_BYTES:
        raise ValidationError({f"files.{index}.upload": [pdf_too_large_message()]})
    upload.seek(0)
    data = upload.read()
    try:
        pdf_inspect(data, max_pages=settings.LEADGATE_PDF_MAX_PAGES)
    except PdfRefused as exc:
        raise ValidationError({f"files.{index}.upload": [str(exc)]}) from None
    return data


def _inline_pdfs_attach(
    gate: Gate, files: list[FileInput], pdfs: dict[str, tuple[bytes, str]]
) -> None:
    """Attach the new PDFs read inline; a file newly marked so whose current upload was
    never read inline becomes readable from that upload."""
    rows = {row.key: row for row in GateFile.objects.filter(gate=gate)}
    for index, f in enumerate(files):
        row = rows.get(f.key)
        if row is None or not f.read_inline:
            continue
        if f.key in pdfs:
            data, name = pdfs[f.key]
        elif not row.pdf_status and row.upload:
            try:
                with row.upload.open("rb") as handle:
                    data = handle.read(settings.LEADGATE_PDF_MAX_BYTES + 1)
            except OSError:
                raise ValidationError(
                    {
                        f"files.{index}.read_inline": [
                            "The file's upload is missing: upload it again."
                        ]
                    }
                ) from None
            name = row.upload.name or f"{f.key}.pdf"
        elif not row.pdf_status:
            raise ValidationError(
                {f"files.{index}.read_inline": ["Upload a PDF to read it inline."]}
            )
        else:
            continue
        try:
            gate_file_pdf_attach(gate_file=row, data=data, name=name, read_inline=True)
        except PdfRefused as exc:
            field = "upload" if f.key in pdfs else "read_inline"
            raise ValidationError({f"files.{index}.{field}": [str(exc)]}) from None


def gate_delete(*, gate: Gate) -> None:
    with transaction.atomic():
        gate.delete()

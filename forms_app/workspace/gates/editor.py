"""The builder's page: create or edit a gate with its sections, files and questions in
one form, saved through gate_save (its errors shown next to the row that caused them),
with the gate's diagnostics, its embed snippets and the preview's frame."""

from __future__ import annotations

from typing import Any

from csp.decorators import csp_update
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from forms_app.links import base_url, gate_embed_snippet, gate_hosted_url, gate_iframe_snippet
from forms_app.models import Gate, GateFile, PdfStatus, Stage
from forms_app.selectors import gate_get
from forms_app.services.gates import FieldInput, FileInput, SectionInput, gate_save
from forms_app.workspace.access import marketer_required
from forms_app.workspace.common import page, validation_messages
from forms_app.workspace.forms import FileFormSet, GateForm, QuestionFormSet, SectionFormSet
from forms_app.workspace.gates.preview import IMAGES, PREVIEW_MODES
from forms_app.workspace.gates.rows import _move_request, _moved, _rows
from profiling.refusals import gate_diagnostics


def _pdf_state(f: GateFile) -> str:
    """How far the file's PDF read inline is, for the marketer."""
    if f.pdf_status == PdfStatus.READY:
        return f"PDF read inline: {f.pdf_page_count} pages, ready."
    if f.pdf_status == PdfStatus.PENDING:
        return (
            f"PDF read inline: rendering, {f.pdf_pages_ready} of {f.pdf_page_count} pages "
            "ready (visitors see them as they come)."
        )
    if f.pdf_status == PdfStatus.FAILED:
        return f"PDF could not be read inline: {f.pdf_error}"
    return ""


def _initial(
    gate: Gate,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    main = {
        "title": gate.title,
        "slug": gate.slug,
        "stage": gate.stage,
        "headline": gate.headline,
        "description": gate.description,
        "submit_label": gate.submit_label,
        "subscribe_label": gate.subscribe_label,
        "consent_text": gate.consent_text,
        "email_content": gate.email_content,
        "double_opt_in": gate.double_opt_in,
        "allowed_origins": "\n".join(gate.allowed_origins or []),
        "min_dwell_s": gate.min_dwell_ms // 1000,
        "idle_timeout_s": gate.idle_timeout_ms // 1000,
        "is_active": gate.is_active,
        "language": gate.language,
    }
    sections = [
        {"key": s.key, "title": s.title, "body": s.body, "topics": ", ".join(s.topics or [])}
        for s in gate.sections.all()
    ]
    files = [
        {
            "key": f.key,
            "title": f.title,
            "url": f.url,
            "current_upload": f.upload.name if f.upload else "",
            "read_inline": f.read_inline,
            "pdf_state": _pdf_state(f),
            "reader_href": f"/g/{gate.slug}/read/{f.key}" if f.readable_inline else "",
        }
        for f in gate.files.all()
    ]
    questions = [
        {"name": q.name, "label": q.label, "type": q.type, "choices": "\n".join(q.choices or [])}
        for q in gate.fields.all()
    ]
    return main, sections, files, questions


def _show_service_errors(
    exc: ValidationError,
    main: GateForm,
    blocks: dict[str, tuple[forms.BaseFormSet, list[forms.Form]]],
    block_errors: dict[str, list[str]],
) -> None:
    """Put each of gate_save's errors next to what caused it.

    Keys are "slug", "fields", "fields.1", "sections.0.key", ...: the index counts the
    rows that were sent to the service, which `blocks` maps back to the forms on screen.
    """
    for key, msgs in validation_messages(exc).items():
        head, _, rest = key.partition(".")
        if head in blocks:
            _, rows = blocks[head]
            index, _, attr = rest.partition(".")
            if index.isdigit() and int(index) < len(rows):
                row = rows[int(index)]
                for m in msgs:
                    row.add_error(attr if attr in row.fields else None, m)
            else:
                block_errors.setdefault(head, []).extend(msgs)
        elif key in main.fields:
            for m in msgs:
                main.add_error(key, m)
        elif key in ("min_dwell_ms", "idle_timeout_ms"):
            for m in msgs:
                main.add_error(key.replace("_ms", "_s"), m)
        else:
            for m in msgs:
                main.add_error(None, m if key == "__all__" else f"{key}: {m}")


@marketer_required
@require_http_methods(["GET", "POST"])
@csp_update(IMAGES)
def gate_edit(request: HttpRequest, slug: str | None = None) -> HttpResponseBase:
    gate = gate_get(slug=slug) if slug else None
    if slug and gate is None:
        raise Http404("No gate with this slug.")
    block_errors: dict[str, list[str]] = {}
    moved_row = ""
    move = _move_request(request.POST) if request.method == "POST" else None
    if move is not None:
        # A move button without JavaScript: show the new order, save nothing yet.
        index, step = move
        moved = _moved(request.POST, "sections", index, step, SectionFormSet.absolute_max)
        main = GateForm(moved)
        sections = SectionFormSet(moved, prefix="sections")
        files = FileFormSet(moved, prefix="files")
        questions = QuestionFormSet(moved, prefix="fields")
        total = min(int(moved.get("sections-TOTAL_FORMS") or 0), SectionFormSet.absolute_max)
        new_index = max(0, min(index + step, total - 1))
        moved_row = f"sections-{new_index}"
        messages.info(request, "Order changed. Save to keep it.")
        status = 200
    elif request.method == "POST":
        main = GateForm(request.POST)
        sections = SectionFormSet(request.POST, prefix="sections")
        files = FileFormSet(request.POST, request.FILES, prefix="files")
        questions = QuestionFormSet(request.POST, prefix="fields")
        valid = all([main.is_valid(), sections.is_valid(), files.is_valid(), questions.is_valid()])
        if valid:
            blocks: dict[str, tuple[forms.BaseFormSet, list[forms.Form]]] = {
                "sections": (sections, _rows(sections)),
                "files": (files, _rows(files)),
                "fields": (questions, _rows(questions)),
            }
            data = main.service_data()
            try:
                saved = gate_save(
                    gate=gate,
                    data=data,
                    sections=[
                        SectionInput(
                            key=f.cleaned_data["key"],
                            title=f.cleaned_data["title"],
                            body=f.cleaned_data.get("body", ""),
                            topics=f.cleaned_data.get("topics", []),
                        )
                        for f in blocks["sections"][1]
                    ],
                    files=[
                        FileInput(
                            key=f.cleaned_data["key"],
                            title=f.cleaned_data["title"],
                            url=f.cleaned_data.get("url") or "",
                            upload=f.cleaned_data.get("upload") or None,
                            read_inline=bool(f.cleaned_data.get("read_inline")),
                        )
                        for f in blocks["files"][1]
                    ],
                    fields=[
                        FieldInput(
                            name=f.cleaned_data["name"],
                            label=f.cleaned_data["label"],
                            type=f.cleaned_data["type"],
                            choices=f.cleaned_data.get("choices", []),
                        )
                        for f in blocks["fields"][1]
                    ],
                )
            except ValidationError as exc:
                _show_service_errors(exc, main, blocks, block_errors)
            else:
                messages.success(
                    request, f"Saved “{saved.title}”. The preview shows what visitors see now."
                )
                return redirect("workspace:gate-edit", slug=saved.slug)
        status = 400
    else:
        status = 200
        if gate is not None:
            m, s, f, q = _initial(gate)
        else:
            m = {"stage": Stage.INTEREST, "min_dwell_s": 5, "idle_timeout_s": 30, "is_active": True}
            s, f, q = [{}], [], []
        main = GateForm(initial=m)
        sections = SectionFormSet(initial=s, prefix="sections")
        files = FileFormSet(initial=f, prefix="files")
        questions = QuestionFormSet(initial=q, prefix="fields")
    context: dict[str, Any] = {
        "gate": gate,
        "form": main,
        "sections": sections,
        "files": files,
        "questions": questions,
        "block_errors": block_errors,
        "moved_row": moved_row,
        "preview_modes": PREVIEW_MODES,
        "image_max_mb": f"{settings.LEADGATE_IMAGE_MAX_BYTES / (1024 * 1024):g}",
    }
    if gate is not None:
        context["diagnostics"] = gate_diagnostics(gate)
        base = base_url(request)
        context["snippet"] = gate_embed_snippet(gate, base=base)
        context["hosted_url"] = gate_hosted_url(gate, base=base)
        context["iframe_snippet"] = gate_iframe_snippet(gate, base=base)
        context["section_snippet"] = (
            f'<section data-leadgate-section="{gate.sections.first().key}">…</section>'  # type: ignore[union-attr]
            if gate.sections.exists()
            else ""
        )
    return page(request, "gate_edit.html", context, section="gates", status=status)

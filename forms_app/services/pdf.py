"""PDFs read inline: attaching an upload to a gate file, rendering its pages in the
background, a few pages per task, first pages first.

The upload request only checks the PDF (forms_app/pdf.py: cheap, no page rendered) and
writes one row per page and chapter; Celery renders the pages in chunks of RENDER_CHUNK,
each task enqueueing the next after commit, so a viewer shows the first pages within
seconds of an upload of hundreds. Every task is idempotent: it renders the pages of its
upload (`pdf_version`) that have no image yet, and stops when the file was uploaded again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from forms_app.models import GateFile, PdfChapter, PdfPage, PdfStatus
from forms_app.pdf import PdfRefused, pdf_inspect, pdf_render_pages
from profiling.queue import enqueue_after_commit

log = logging.getLogger(__name__)

RENDER_TASK = "forms_app.tasks.pdf_render"
RENDER_CHUNK = 10
# A pending PDF whose last chunk is older than this lost its task (broker down, worker
# killed): the sweep enqueues it again.
STALLED_AFTER = timedelta(minutes=2)


def pdf_too_large_message() -> str:
    mb = settings.LEADGATE_PDF_MAX_BYTES / (1024 * 1024)
    return f"This PDF is larger than {mb:g} MB, the limit for PDFs read inline."


def _file_name(name: str) -> str:
    base = get_valid_filename(name.replace("\\", "/").rsplit("/", 1)[-1]) or "document"
    if base in {".", ".."}:
        base = "document"
    return base if base.lower().endswith(".pdf") else f"{base}.pdf"


def _page_image_name(gate_file_id: int, version: int, number: int, *, small: bool = False) -> str:
    return f"pdf-pages/{gate_file_id}/{version}/p{number}{'-small' if small else ''}.webp"


def _store(name: str, data: bytes) -> str:
    # A redelivered task renders the same page again: same name, same bytes.
    if default_storage.exists(name):
        default_storage.delete(name)
    return str(default_storage.save(name, ContentFile(data)))


def gate_file_pdf_attach(
    *, gate_file: GateFile, data: bytes, name: str, read_inline: bool | None = None
) -> GateFile:
    """Make `data` the file's upload and its inline pages (rendered later, in the
    background). PdfRefused, with the marketer's message, for a file too large, not a
    PDF, password-protected or with too many pages; nothing is changed then."""
    if len(data) > settings.LEADGATE_PDF_MAX_BYTES:
        raise PdfRefused(pdf_too_large_message())
    info = pdf_inspect(data, max_pages=settings.LEADGATE_PDF_MAX_PAGES)
    chapter_of: dict[int, str] = {}
    for chapter in info.chapters:
        for number in range(chapter.first_page, chapter.last_page + 1):
            chapter_of[number] = chapter.key
    with transaction.atomic():
        row = GateFile.objects.select_for_update().get(pk=gate_file.pk)
        # The old pages' images go once this commits (pdf_page_image_forget).
        PdfPage.objects.filter(gate_file=row).delete()
        PdfChapter.objects.filter(gate_file=row).delete()
        row.upload.save(_file_name(name), ContentFile(data), save=False)
        row.pdf_version += 1
        row.pdf_status = PdfStatus.PENDING
        row.pdf_page_count = len(info.pages)
        row.pdf_pages_ready = 0
        row.pdf_error = ""
        row.pdf_progress_at = timezone.now()
        if read_inline is not None:
            row.read_inline = read_inline
        row.save()
        PdfChapter.objects.bulk_create(
            PdfChapter(
                gate_file=row,
                key=c.key,
                title=c.title,
                first_page=c.first_page,
                last_page=c.last_page,
                position=position,
            )
            for position, c in enumerate(info.chapters)
        )
        PdfPage.objects.bulk_create(
            (
                PdfPage(
                    gate_file=row,
                    number=p.number,
                    width=p.width,
                    height=p.height,
                    chapter_key=chapter_of.get(p.number, ""),
                )
                for p in info.pages
            ),
            batch_size=500,
        )
        enqueue_after_commit(RENDER_TASK, row.pk, row.pdf_version)
    return row


def pdf_page_image_forget(sender: type[PdfPage], instance: PdfPage, **kwargs: object) -> None:
    """A deleted page (a new upload, its file or gate deleted) takes its image along,
    once the deletion commits (post_delete receiver, connected in FormsAppConfig)."""
    names = [name for name in (instance.image, instance.image_small) if name]
    if not names:
        return

    def delete() -> None:
        for name in names:
            try:
                default_storage.delete(name)
            except OSError:
                log.warning("could not delete the page image %s", name)

    transaction.on_commit(delete)


def _fail(gate_file_id: int, version: int, message: str) -> None:
    GateFile.objects.filter(
        pk=gate_file_id, pdf_version=version, pdf_status=PdfStatus.PENDING
    ).update(pdf_status=PdfStatus.FAILED, pdf_error=message[:300], pdf_progress_at=timezone.now())


def pdf_render_next(*, gate_file_id: int, version: int, chunk: int = RENDER_CHUNK) -> int:
    """Render the next `chunk` pages of upload `version` that have no image yet, then
    enqueue the rest. Returns the number of pages still to render (0 when done, failed,
    or when the file has changed since)."""
    row = GateFile.objects.filter(
        pk=gate_file_id, pdf_version=version, pdf_status=PdfStatus.PENDING
    ).first()
    if row is None:
        return 0
    numbers = list(
        PdfPage.objects.filter(gate_file=row, image="")
        .order_by("number")
        .values_list("number", flat=True)[:chunk]
    )
    if numbers:
        try:
            with row.upload.open("rb") as handle:
                data = handle.read()
            rendered = pdf_render_pages(data, numbers)
        except PdfRefused as exc:
            _fail(row.pk, version, str(exc))
            return 0
        except Exception:
            log.exception("rendering pages %s of gate file %s failed", numbers, row.pk)
            _fail(row.pk, version, f"Pages {numbers[0]}-{numbers[-1]} could not be rendered.")
            return 0
        for page in rendered:
            stored = _store(_page_image_name(row.pk, version, page.number), page.webp)
            small = (
                _store(_page_image_name(row.pk, version, page.number, small=True), page.small_webp)
                if page.small_webp
                else ""
            )
            PdfPage.objects.filter(
                gate_file_id=row.pk, gate_file__pdf_version=version, number=page.number
            ).update(
                image=stored,
                image_small=small,
                width=page.width,
                height=page.height,
                text=page.text,
                words=len(page.text.split()),
            )
    with transaction.atomic():
        ready = PdfPage.objects.filter(gate_file_id=row.pk).exclude(image="").count()
        remaining = row.pdf_page_count - ready
        changed = GateFile.objects.filter(
            pk=row.pk, pdf_version=version, pdf_status=PdfStatus.PENDING
        ).update(
            pdf_pages_ready=ready,
            pdf_status=PdfStatus.PENDING if remaining > 0 else PdfStatus.READY,
            pdf_progress_at=timezone.now(),
        )
        if not changed:
            return 0
        if remaining > 0:
            enqueue_after_commit(RENDER_TASK, row.pk, version)
    return max(remaining, 0)


def pdf_render_sweep() -> int:
    """Enqueue the PDFs whose rendering stalled (their task was lost); how many."""
    stalled = GateFile.objects.filter(
        pdf_status=PdfStatus.PENDING, pdf_progress_at__lt=timezone.now() - STALLED_AFTER
    ).values_list("pk", "pdf_version")
    count = 0
    with transaction.atomic():
        for pk, version in stalled:
            enqueue_after_commit(RENDER_TASK, pk, version)
            count += 1
    return count

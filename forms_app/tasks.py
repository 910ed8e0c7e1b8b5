"""Thin Celery tasks of the capture side: take ids, call one service. Idempotent."""

from __future__ import annotations

from celery import shared_task

from forms_app.services.pdf import pdf_render_next, pdf_render_sweep


# A chunk is RENDER_CHUNK pages (well under a second each); the limits only stop a
# pathological page from wedging a worker.
@shared_task(name="forms_app.tasks.pdf_render", soft_time_limit=120, time_limit=150)
def pdf_render(gate_file_id: int, version: int) -> int:
    return pdf_render_next(gate_file_id=gate_file_id, version=version)


@shared_task(name="forms_app.tasks.pdf_render_sweep")
def pdf_render_sweep_task() -> int:
    return pdf_render_sweep()

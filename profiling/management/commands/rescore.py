"""Re-grade every lead now, in this process, with a progress bar.

The same set-based rescore that the `leads_rescore` Celery task runs after a rule or
threshold change (it publishes the same progress for `GET /api/v1/scoring-rules/rescore`).
Grade changes are recorded; with --push they are also delivered to subscribed endpoints.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from profiling.services.rescore import rescore_run

BAR_WIDTH = 30


def progress_bar(done: int, total: int, elapsed_s: float) -> str:
    fraction = 1.0 if total <= 0 else min(done / total, 1.0)
    filled = round(fraction * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    return f"[{bar}] {fraction:6.1%}  {done:,}/{total:,} leads  {elapsed_s:5.1f} s"


class Command(BaseCommand):
    help = "Re-grade every lead with the active scoring rules (set-based; shows progress)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--push",
            action="store_true",
            help="deliver the resulting grade changes to subscribed CRM endpoints",
        )

    def handle(self, *args: Any, push: bool = False, **options: Any) -> None:
        started = time.monotonic()
        # A carriage return redraws the bar on a terminal; each update is a line otherwise.
        end = "\r" if self.stdout.isatty() else "\n"

        def show(done: int, total: int) -> None:
            self.stdout.write(progress_bar(done, total, time.monotonic() - started), ending=end)
            self.stdout.flush()

        result = rescore_run(push=push, reason="command", progress=show)
        if end == "\r":
            self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.leads:,} leads scored in {time.monotonic() - started:.1f} s: "
                f"{result.updated:,} updated, {result.grade_changes:,} grade changes"
                + (f", {result.pushed:,} deliveries" if push else " (not pushed)")
            )
        )

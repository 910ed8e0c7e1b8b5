"""Run the periodic sweeps (due CRM deliveries) once, or in a loop.

Celery beat runs the same sweep in production; this command is for embedded mode (no
broker, so no beat) and for operators who prefer cron.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from profiling.services.delivery import deliveries_sweep


class Command(BaseCommand):
    help = "Hand due CRM deliveries (first tries and retries) to the workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            type=float,
            default=0,
            metavar="SECONDS",
            help="repeat every SECONDS until interrupted (0: run once)",
        )

    def handle(self, *args: Any, loop: float = 0, **options: Any) -> None:
        while True:
            count = deliveries_sweep()
            if count or not loop:
                self.stdout.write(f"{count} due deliveries handed over")
            if not loop:
                return
            time.sleep(loop)

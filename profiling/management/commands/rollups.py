"""Fold the dashboard's daily rollups once, or rebuild them from scratch.

Celery beat folds every minute (profiling.tasks.rollups_fold); after an upgrade its
first run folds all history by itself, and until then the dashboard reads live. Rebuild
after loading rows with SQL (a restore, a benchmark) or to check the rollups.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from profiling.services.rollups import rollups_fold, rollups_rebuild


class Command(BaseCommand):
    help = "Fold the dashboard's daily rollups (or --rebuild them from all history)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild", action="store_true", help="drop the rollups and fold all history"
        )

    def handle(self, *args: Any, rebuild: bool = False, **options: Any) -> None:
        days = rollups_rebuild() if rebuild else rollups_fold()
        self.stdout.write(f"{'Rebuilt' if rebuild else 'Folded'} {days} day(s).")

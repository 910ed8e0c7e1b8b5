"""Daily rollups the dashboard reads instead of the leads, events and submissions of a
range (profiling/services/rollups.py keeps them).

Today is folded up to the fold's moment every minute; a past day is refolded when
something changes it later (a grade change of one of its leads, a late event, an erasure
or a merge). The dashboard reads what came after the last fold live.

Gate ids are plain integers, not foreign keys: a rollup row outlives nothing and must
not slow down deleting a gate; 0 stands for "no gate" so the columns stay NOT NULL.
"""

from __future__ import annotations

from django.db import models

# RollupState's one row.
STATE_KEY = "daily"


class DailyLeadStats(models.Model):
    """Live leads created on `day`, by first gate, first touch and best grade reached."""

    day = models.DateField()
    gate_id = models.IntegerField()  # the lead's first gate; 0: none
    src = models.CharField(max_length=200, blank=True)  # lower(utm_source)
    med = models.CharField(max_length=200, blank=True)  # lower(utm_medium)
    host = models.TextField(blank=True)  # the referrer's host, lower-cased
    campaign = models.CharField(max_length=200, blank=True)  # utm_campaign as given
    reached = models.SmallIntegerField()  # best grade reached: 0 cold, 1 warm, 2 hot
    leads = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "gate_id"], name="dailylead_day_gate")]

    def __str__(self) -> str:
        return f"{self.day} gate {self.gate_id} {self.src or '-'}: {self.leads}"


class DailyTimingStats(models.Model):
    """Time to warm and to hot of the live leads created on `day` that got there: how
    many took a time in each histogram bucket (profiling.selectors.cohort.timing_bucket)."""

    day = models.DateField()
    gate_id = models.IntegerField()
    grade = models.CharField(max_length=8)  # warm (warm or hot) or hot
    bucket = models.SmallIntegerField()
    leads = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "gate_id"], name="dailytiming_day_gate")]

    def __str__(self) -> str:
        return f"{self.day} gate {self.gate_id} {self.grade} [{self.bucket}]: {self.leads}"


class DailyGateStats(models.Model):
    """Page views and form views (by when they occurred) and submissions on `day`."""

    day = models.DateField()
    gate_id = models.IntegerField()
    page_views = models.IntegerField(default=0)
    form_views = models.IntegerField(default=0)
    submissions = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "gate_id"], name="dailygate_day_gate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} gate {self.gate_id}"


class RollupState(models.Model):
    """One row: how far the fold has got. Rows made before `folded_at` are in the
    rollups; later ones are read live."""

    key = models.CharField(max_length=20, primary_key=True)
    folded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.folded_at}"


class RollupDirtyDay(models.Model):
    """A past day to fold again, marked in the transaction of a write the fold cannot
    find by time (an erasure, a merge). Insert-only; the fold deletes the marks it used."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()

    def __str__(self) -> str:
        return str(self.day)

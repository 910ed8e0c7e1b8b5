"""When a section counts as read (forms_app/reading.py), and the words it depends on."""

from __future__ import annotations

import pytest
from django.db import connection

from forms_app.models import Section, word_count
from forms_app.reading import read_threshold_ms, read_threshold_sql
from tests.support.factories import make_gate


def test_the_threshold_is_the_minimum_dwell_or_a_quarter_of_the_reading_time() -> None:
    # 230 words a minute: 1150 words take 5 minutes; a quarter of that is 75 s.
    assert read_threshold_ms(min_dwell_ms=5000, words=1150) == 75_000
    assert read_threshold_ms(min_dwell_ms=5000, words=0) == 5000
    assert read_threshold_ms(min_dwell_ms=5000, words=76) == 5000  # 4.9 s < 5 s
    assert read_threshold_ms(min_dwell_ms=0, words=1) == 65
    assert read_threshold_ms(min_dwell_ms=120_000, words=1150) == 120_000


@pytest.mark.django_db
@pytest.mark.parametrize("min_dwell", [0, 5000, 30_000])
@pytest.mark.parametrize("words", [0, 1, 76, 77, 229, 1150, 35_000, 1_000_000])
def test_postgresql_computes_the_same_threshold(min_dwell: int, words: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {read_threshold_sql('%s', '%s')}", [min_dwell, words])
        (in_sql,) = cursor.fetchone()
    assert in_sql == read_threshold_ms(min_dwell_ms=min_dwell, words=words)


@pytest.mark.django_db
def test_a_sections_words_follow_its_body() -> None:
    gate = make_gate(sections=["a"])
    section = Section.objects.get(gate=gate, key="a")
    assert section.words == 0
    section.body = "Fibre reaches\n\nevery   street."
    section.save(update_fields=["body"])
    assert Section.objects.get(pk=section.pk).words == 4 == word_count(section.body)


@pytest.mark.django_db
def test_the_migration_counts_the_words_of_existing_sections() -> None:
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    gate = make_gate(sections=["a", "b"])
    Section.objects.filter(gate=gate, key="a").update(body="one two  three", words=0)
    (migration,) = [
        m
        for (app, name), m in MigrationLoader(
            None, ignore_no_migrations=True
        ).disk_migrations.items()
        if app == "forms_app" and name.endswith("_reading_time")
    ]
    count_words = next(op for op in migration.operations if hasattr(op, "code")).code
    count_words(apps, None)
    assert dict(Section.objects.filter(gate=gate).values_list("key", "words")) == {"a": 3, "b": 0}

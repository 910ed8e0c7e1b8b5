"""Migration names say what changes, not when or for which ticket; renamed ones stay
recognised by databases that applied them under their old names."""

from __future__ import annotations

import re

from django.db.migrations.loader import MigrationLoader

OWN_APPS = ("forms_app", "profiling")
# A ticket tag such as "_i8_" in a name carries history, not meaning.
TICKET_TAG = re.compile(r"(^|_)i\d+(_|$)")


def _own(loader: MigrationLoader) -> dict[tuple[str, str], object]:
    return {key: m for key, m in loader.disk_migrations.items() if key[0] in OWN_APPS}


def test_no_migration_name_carries_a_ticket_tag() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = sorted(name for _, name in _own(loader))
    assert names, "no migrations found for the project's apps"
    tagged = [name for name in names if TICKET_TAG.search(name)]
    assert tagged == []


def test_renamed_migrations_replace_their_old_names() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    replaced = {
        old: key
        for key, migration in _own(loader).items()
        for old in getattr(migration, "replaces", [])
    }
    # Each old name is taken over by exactly one migration of the same app, so a database
    # that recorded the old name counts the new one as applied (Django's squash rules).
    assert ("forms_app", "0004_i8_roles") in replaced
    assert ("profiling", "0002_i7_delivery") in replaced
    for (app, _old), (new_app, _new) in replaced.items():
        assert app == new_app

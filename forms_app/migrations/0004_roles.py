"""The workspace's two roles as Django groups.

"marketer" edits gates, scoring, webhooks and sources; "sales" reads leads and reports.
Superusers and staff users count as marketers (config/roles.py).
"""

from django.db import migrations

ROLES = ("marketer", "sales")


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=ROLES, user__isnull=True).delete()


class Migration(migrations.Migration):
    # Renamed: databases migrated under the old name count this one as applied.
    replaces = [("forms_app", "0004_i8_roles")]
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("forms_app", "0003_campaign_costs"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]

from django.db import migrations, models


def render_bodies(apps, schema_editor):
    # The bodies written before Markdown: render them once, as a save would.
    from forms_app.section_body import body_html

    Section = apps.get_model("forms_app", "Section")
    for section in Section.objects.exclude(body="").only("id", "body").iterator():
        Section.objects.filter(pk=section.pk).update(body_html=body_html(section.body))


class Migration(migrations.Migration):

    dependencies = [
        ("forms_app", "0010_gate_file_pdf_pages"),
    ]

    operations = [
        migrations.AddField(
            model_name="section",
            name="body_html",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(render_bodies, migrations.RunPython.noop),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("profiling", "0017_daily_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="language",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
    ]

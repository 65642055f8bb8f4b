"""The history's status filter pages from one index in its own order (created_at, then id)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dataflow", "0020_api_tokens_and_plans")]

    operations = [
        migrations.RemoveIndex(model_name="changerequest", name="change_status_newest"),
        migrations.AddIndex(
            model_name="changerequest",
            index=models.Index(
                fields=["status", "-created_at", "-id"], name="change_status_newest_id"
            ),
        ),
    ]

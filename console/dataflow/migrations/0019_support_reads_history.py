"""Support reads the change history across services (and its CSV), as the README's role table
says: they fix host aliases and need to see what changed before."""

from django.db import migrations


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Support").first()
    permission = Permission.objects.filter(
        content_type__app_label="dataflow", codename="review_history"
    ).first()
    if group is not None and permission is not None:
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Support"):
        group.permissions.remove(*group.permissions.filter(codename="review_history"))


class Migration(migrations.Migration):
    dependencies = [("dataflow", "0018_attempt_detail_and_member_note_as_facts")]

    operations = [migrations.RunPython(grant, revoke)]
